"""``tradeloop demo``: the whole loop once, on bundled real data, with progress bars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from tradeloop.cli.errors import EXIT_FAILED, handled_errors
from tradeloop.core.time import iso_from_ns

if TYPE_CHECKING:
    from tradeloop.usecases.loop import LoopResult


def _summary(result: LoopResult, console: Console) -> None:
    share = f"{result.exposure_fraction:.0%} of equity"
    table = Table(title=f"tradeloop demo - run {result.run_id}", show_lines=False)
    table.add_column("")
    table.add_column(f"strategy\n(at most {share})", justify="right")
    table.add_column(f"buy and hold\n({share})", justify="right")
    table.add_column("buy and hold\n(fully invested)", justify="right")
    s, b, f = result.strategy, result.buy_and_hold, result.buy_and_hold_full
    table.add_row("total return", *[f"{x['total_return']:.2%}" for x in (s, b, f)])
    table.add_row("Sharpe", *[f"{x['sharpe']:.2f}" for x in (s, b, f)])
    table.add_row("max drawdown", *[f"{x['max_drawdown']:.2%}" for x in (s, b, f)])
    table.add_row("win rate", f"{s['win_rate']:.2%}", "", "")
    table.add_row("trades", f"{s['trades']:.0f}", "1 (held)", "1 (held)")
    console.print(table)
    console.print(
        f"position size {share}: the risk limits' cap (risk.max_position_size); compare "
        "with buy and hold at the same size"
    )
    console.print(
        f"model {result.model_version_id}: OOS AUC {result.metrics['auc']:.4f} vs baseline "
        f"{result.baseline['auc']:.4f}, log loss {result.metrics['log_loss']:.4f} vs "
        f"{result.baseline['log_loss']:.4f}, ONNX parity {result.parity_max_abs:.1e} -> "
        + (
            "[green]promoted to active[/]"
            if result.promoted
            else "[red]gate refused[/]: " + "; ".join(result.gate_reasons)
        )
    )
    console.print(f"as of {iso_from_ns(result.as_of_ns)}; took {result.seconds:.1f} s")
    console.print(f"report: {result.report_path}")
    console.print(f"model:  {result.model_path}")


def demo(
    quick: Annotated[bool, typer.Option(help="less data (for tests and a first look)")] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run the whole loop once on real bundled data and write a report.

    ingest -> quality -> features -> labels -> train (walk-forward) -> ONNX + parity ->
    register -> gate -> promote to active -> backtest -> report.

    Examples:

      tradeloop demo

      tradeloop demo --quick --json
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.loop import STAGES, run_loop

    console = Console(stderr=as_json)
    with handled_errors():
        app = build_app(load_settings(), config)
        with Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            tasks: dict[str, TaskID] = {
                stage: progress.add_task(stage, total=None) for stage in STAGES
            }

            def on_progress(stage: str, done: int, total: int) -> None:
                progress.update(tasks[stage], completed=done, total=total)

            result = run_loop(
                app.loop_deps(), app.config.loop_settings(), quick=quick, progress=on_progress
            )
    if as_json:
        print(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "as_of": iso_from_ns(result.as_of_ns),
                    "symbols": list(result.symbols),
                    "quality": result.quality,
                    "model_version_id": result.model_version_id,
                    "promoted": result.promoted,
                    "gate_reasons": list(result.gate_reasons),
                    "metrics": result.metrics,
                    "baseline": result.baseline,
                    "parity_max_abs": result.parity_max_abs,
                    "strategy": result.strategy,
                    "exposure_fraction": result.exposure_fraction,
                    "buy_and_hold": result.buy_and_hold,
                    "buy_and_hold_full": result.buy_and_hold_full,
                    "latest_signal": result.latest_signal,
                    "report": str(result.report_path),
                    "model_path": str(result.model_path),
                    "seconds": result.seconds,
                },
                indent=2,
            )
        )
    else:
        _summary(result, console)
    if not result.promoted:
        raise typer.Exit(EXIT_FAILED)
