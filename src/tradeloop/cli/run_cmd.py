"""``tradeloop run``: trade a strategy through the one order path (backtest mode)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.bootstrap import build_app
from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError, DataError
from tradeloop.core.ids import new_run_id
from tradeloop.core.time import iso_from_ns, parse_ns
from tradeloop.settings import load_settings

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "1d": 86_400}


def run(
    mode: Annotated[str, typer.Option(help="backtest (paper, simulate, live: not yet)")] = (
        "backtest"
    ),
    strategy: Annotated[str, typer.Option(help="sma_cross")] = "sma_cross",
    tickers: Annotated[str, typer.Option(help="comma-separated symbols")] = "^GSPC",
    start: Annotated[str | None, typer.Option(help="first day (ISO)")] = None,
    end: Annotated[str | None, typer.Option(help="last day (ISO)")] = None,
    capital: Annotated[float | None, typer.Option(help="starting cash (USD)")] = None,
    interval: Annotated[str, typer.Option(help="bar size: 1d, 1h, 1m ...")] = "1d",
    fast: Annotated[int, typer.Option(help="sma_cross: fast window")] = 10,
    slow: Annotated[int, typer.Option(help="sma_cross: slow window")] = 30,
    benchmark: Annotated[str | None, typer.Option(help="benchmark symbol (stored bars)")] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Run a strategy over stored bars on a simulated clock and exchange, through the same
    risk checks, order manager and ledger as every mode; print the metrics against buy and
    hold (and a benchmark), and save them as Markdown + JSON with an equity/drawdown PNG.

    Examples:

      tradeloop ingest --tickers ^GSPC && tradeloop run --tickers ^GSPC

      tradeloop run --tickers GOOG --fast 20 --slow 50 --benchmark ^GSPC --json

    Exit codes: 0 ran, 2 bad input (unknown strategy or mode, no stored bars).
    """
    from tradeloop.monitor.run_report import metric_rows, write_run_report
    from tradeloop.ops.backtest_run import run_strategy

    with handled_errors():
        if mode != "backtest":
            raise ConfigError(
                f"--mode {mode}: only backtest runs in this version; paper, "
                "simulate and live need reconciliation, which is not built yet"
            )
        if interval not in INTERVALS:
            raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
        app = build_app(load_settings(), config)
        execution = app.config.execution
        if capital is not None:
            if capital <= 0:
                raise ConfigError(f"--capital {capital}: must be positive")
            execution = execution.model_copy(update={"initial_cash_usd": capital})
        symbols = [s.strip() for s in tickers.split(",") if s.strip()]
        try:
            start_ns = parse_ns(start) if start else 0
            end_ns = parse_ns(end) if end else time.time_ns()
        except ValueError as exc:
            raise ConfigError(f"--start/--end: {exc}") from None
        seconds = INTERVALS[interval]
        store = app.ingest_store()
        bars = store.load_bars_many(symbols, seconds, start_ns, end_ns)
        missing = sorted(set(symbols) - set(bars["symbol"].unique().to_list()))
        if missing:
            raise DataError(
                f"no stored {interval} bars for {', '.join(missing)} in the range; "
                f"ingest them first: tradeloop ingest --tickers {','.join(missing)}"
            )
        bench = store.load_bars_many([benchmark], seconds, start_ns, end_ns) if benchmark else None
        if benchmark and (bench is None or bench.is_empty()):
            raise DataError(f"--benchmark {benchmark}: no stored {interval} bars; ingest it first")
        run_id = new_run_id("run")
        outcome = run_strategy(
            bars,
            strategy=strategy,
            params={"fast": fast, "slow": slow},
            execution=execution,
            risk=app.config.risk,
            kill_switch=app.loop_deps().kill_switch,
            run_id=run_id,
            bar_interval_sec=seconds,
            benchmark_bars=bench,
        )
    columns = {"strategy": outcome.metrics, "buy and hold": outcome.buy_and_hold}
    curves = {
        "strategy": outcome.result.equity["equity"].to_numpy(),
        "buy and hold": outcome.buy_and_hold_equity,
    }
    if outcome.benchmark:
        columns[f"benchmark {benchmark}"] = outcome.benchmark
        curves[f"benchmark {benchmark}"] = outcome.benchmark_equity
    ts = outcome.result.equity["ts"].to_numpy()
    title = f"{strategy}({fast},{slow}) on {','.join(symbols)} {interval}"
    details = {
        "run_id": run_id,
        "mode": mode,
        "symbols": symbols,
        "start": iso_from_ns(int(ts[0])),
        "end": iso_from_ns(int(ts[-1])),
        "initial_cash": execution.initial_cash_usd,
        "final_equity": str(outcome.result.final_equity),
        "orders_denied": len(outcome.result.rejected),
    }
    paths = write_run_report(app.settings.reports_dir, run_id, title, ts, columns, curves, details)
    if as_json:
        print(
            json.dumps(
                {**details, "metrics": columns, "report": {k: str(v) for k, v in paths.items()}},
                indent=2,
            )
        )
        return
    table = Table(title=title)
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for row in metric_rows(columns):
        table.add_row(*row)
    Console().print(table)
    Console().print(
        f"report: {paths['markdown']}  (JSON {paths['json'].name}, PNG {paths['png'].name})"
    )
