"""``tradeloop train``: pivot-event models from the lake, registered as one candidate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import EXIT_FAILED, handled_errors
from tradeloop.cli.progress import CommandProgress


def train(
    allow_partial: Annotated[
        bool, typer.Option(help="register what trained even if some targets failed")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Train LightGBM and RandomForest per target x horizon on the lake's training_view, keep
    the better one out of sample, calibrate, export to ONNX with a parity check, compare with
    the active model on the same windows, and register ONE immutable version with alias
    ``candidate``. Promotion to ``active`` is a separate, gated step (tradeloop models
    evaluate).

    Nothing is registered when any target or horizon fails, unless --allow-partial.

    Examples:

      tradeloop labels build && tradeloop export && tradeloop train

      tradeloop train --allow-partial --json

      tradeloop models evaluate      # gates + promote candidate -> active
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.model_training import summarize, train_and_register

    with handled_errors():
        app = build_app(load_settings(), config)
        settings = app.config.event_models
        total = len(settings.targets) * len(settings.horizons_bars)
        with CommandProgress("train", total, quiet=as_json) as progress:
            outcome = train_and_register(
                app.registry(),
                app.settings.home / "lake",
                settings,
                allow_partial=allow_partial,
                on_model=lambda name, error: progress.advance(note=name),
            )
    published = summarize(outcome.models) if outcome.version_id else []
    result: dict[str, Any] = {
        "version": outcome.version_id,
        "published": published,
        "failures": outcome.failures,
        "aborted": outcome.aborted,
        "compared_with_active": outcome.compared_with,
    }
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        _print(result, outcome.models)
    if outcome.aborted:
        raise typer.Exit(EXIT_FAILED)


def _print(result: dict[str, Any], models: list[Any]) -> None:
    console = Console()
    table = Table(title=f"tradeloop train: candidate version {result['version']}")
    for column in ("model", "algorithm", "rows", "OOS", "baseline", "prec@tau", "tau_entry"):
        table.add_column(column)
    for item in result["published"]:
        precision = item["metrics"].get("precision_at_entry")
        table.add_row(
            item["name"],
            item["algorithm"],
            str(item["rows"]),
            f"{item['metric']} {item['value']:.4f}",
            f"{item['metric']} {item['baseline']:.4f}",
            "-" if precision is None else f"{precision:.3f}",
            "-" if item["tau_entry"] is None else f"{item['tau_entry']:.3f}",
        )
    console.print(table)
    for name, reason in result["failures"].items():
        Console(stderr=True).print(f"[red]{name}[/]: {reason}")
    if result["aborted"]:
        Console(stderr=True).print("nothing registered (use --allow-partial to publish the rest)")
    else:
        console.print("next: tradeloop models evaluate  (gates, then candidate -> active)")
