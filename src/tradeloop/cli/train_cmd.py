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
    """Train a model per target x horizon on the lake's training_view and register them as
    ONE immutable version with alias ``candidate`` (promotion to ``active`` is a separate,
    gated step).

    Nothing is registered when any target or horizon fails, unless --allow-partial.

    Examples:

      tradeloop labels build && tradeloop export && tradeloop train

      tradeloop train --allow-partial --json
    """
    from tradeloop.features.touch_events import EVENT_SCHEMA
    from tradeloop.models.event_models import EVENT_MODELS_NAME, train_event_models
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
        version_id = None
        if models and (allow_partial or not failures):
            # One immutable version per training run, one ONNX file per target x horizon.
            manifest = {
                "kind": "pivot-event-models",
                "feature_version": EVENT_SCHEMA.version,
                "feature_schema_hash": EVENT_SCHEMA.schema_hash,
                "trained_end_ns": max(model.data_end_ns for model in models),
                "models": {f"{model.name}.onnx": model.manifest() for model in models},
                "failures": failures,
            }
            registry = app.registry()
            version = registry.register(
                EVENT_MODELS_NAME, {f"{m.name}.onnx": m.onnx_bytes for m in models}, manifest
            )
            version_id = version.model_version_id
            registered = GateResult(True, {"registered_as_candidate": True}, ())
            registry.promote(EVENT_MODELS_NAME, version_id, "candidate", registered, "train")
            published = [
                {"name": m.name, "file": f"{m.name}.onnx", "rows": m.rows,
                 "metrics": m.metrics, "baseline": m.baseline}
                for m in models
            ]  # fmt: skip
    result = {"version": version_id, "published": published, "failures": failures,
              "aborted": bool(failures) and not allow_partial}  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        table = Table(title=f"tradeloop train: candidate version {version_id}")
        for column in ("model", "rows", "OOS", "baseline"):
            table.add_column(column)
        for item in published:
            key = "auc" if "auc" in item["metrics"] else "mae"
            table.add_row(item["name"], str(item["rows"]),
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
