"""``tradeloop train``: pivot-event models from the lake, registered as candidates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.bootstrap import build_app
from tradeloop.cli.errors import EXIT_FAILED, handled_errors
from tradeloop.core.errors import DataError
from tradeloop.settings import load_settings


def train(
    allow_partial: Annotated[
        bool, typer.Option(help="register what trained even if some targets failed")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Train a model per target x horizon on the lake's training_view and register each
    as alias ``candidate`` (promotion to ``active`` is a separate, gated step).

    Nothing is registered when any target or horizon fails, unless --allow-partial.

    Examples:

      tradeloop labels build && tradeloop export && tradeloop train

      tradeloop train --allow-partial --json
    """
    from tradeloop.models.event_models import train_event_models
    from tradeloop.registry.gates import GateResult
    from tradeloop.store.lake import read_training_view

    with handled_errors():
        app = build_app(load_settings(), config)
        try:
            frame = read_training_view(app.settings.home / "lake")
        except FileNotFoundError as exc:
            raise DataError(str(exc)) from None
        models, failures = train_event_models(frame, app.config.event_models)
        published: list[dict[str, Any]] = []
        if models and (allow_partial or not failures):
            registry = app.registry()
            registered = GateResult(True, {"registered_as_candidate": True}, ())
            for model in models:
                version = registry.register(model.name, model.onnx_bytes, model.manifest())
                registry.promote(model.name, version.model_version_id, "candidate", registered,
                                 "train")  # fmt: skip
                published.append({"name": model.name, "version": version.model_version_id,
                                  "rows": model.rows, "metrics": model.metrics,
                                  "baseline": model.baseline})  # fmt: skip
    result = {"published": published, "failures": failures,
              "aborted": bool(failures) and not allow_partial}  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        table = Table(title="tradeloop train: candidates")
        for column in ("model", "version", "rows", "OOS", "baseline"):
            table.add_column(column)
        for item in published:
            key = "auc" if "auc" in item["metrics"] else "mae"
            table.add_row(item["name"], item["version"], str(item["rows"]),
                          f"{key} {item['metrics'][key]:.4f}",
                          f"{key} {item['baseline'][key]:.4f}")  # fmt: skip
        Console().print(table)
        for name, reason in failures.items():
            Console(stderr=True).print(f"[red]{name}[/]: {reason}")
        if result["aborted"]:
            Console(stderr=True).print(
                "nothing registered (use --allow-partial to publish the rest)"
            )
    if (failures and not allow_partial) or not published:
        raise typer.Exit(EXIT_FAILED)
