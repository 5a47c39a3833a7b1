"""``tradeloop risk var``: value at risk of a paper account."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors
from tradeloop.cli.intervals import INTERVALS
from tradeloop.core.errors import ConfigError

app = typer.Typer(help="Risk reports.", no_args_is_help=True)


@app.command("var")
def var(
    account: Annotated[str, typer.Option(help="paper account (var/paper/NAME)")] = "main",
    level: Annotated[float, typer.Option(help="confidence level")] = 0.99,
    lookback: Annotated[int, typer.Option(help="periods of history")] = 250,
    interval: Annotated[str, typer.Option(help="bar size of the history")] = "1d",
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """One-period VaR and CVaR of a paper account's positions: historical, parametric
    (normal) and GARCH(1,1), from the stored history of the symbols it holds.

    Example: tradeloop risk var --account main --level 0.99 --lookback 500

    Exit codes: 0 reported, 2 unknown account or not enough history.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.paper_trading import PaperAccount
    from tradeloop.usecases.risk_report import account_risk

    with handled_errors():
        if interval not in INTERVALS:
            raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
        if not 0.5 < level < 1 or lookback < 30:
            raise ConfigError("--level must be in (0.5, 1) and --lookback at least 30")
        application = build_app(load_settings(), config, read_only=True)
        store = application.ingest_store()
        report = account_risk(
            application.paper_stores(),
            PaperAccount.under(application.settings.paper_dir, account),
            store.load_bars_many,
            level=level,
            lookback=lookback,
            interval_sec=INTERVALS[interval],
            now_ns=time.time_ns(),
        )
    rows: list[dict[str, Any]] = [
        {
            "method": e.method,
            "var": e.var,
            "cvar": e.cvar,
            "var_pct_equity": e.var / report.equity if report.equity else math.nan,
            "cvar_pct_equity": e.cvar / report.equity if report.equity else math.nan,
        }
        for e in report.estimates
    ]
    if as_json:
        body = {
            "account": account,
            "level": level,
            "equity": report.equity,
            "positions": report.positions,
            "periods": report.periods,
            "estimates": rows,
        }
        print(json.dumps(body, indent=2))
        return
    console = Console()
    if not report.positions:
        console.print(f"{account}: no open positions; nothing is at risk")
        return
    table = Table(title=f"{account}: {level:.0%} one-period VaR over {report.periods} periods")
    for column in ("method", "VaR", "CVaR", "VaR % equity", "CVaR % equity"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in rows:
        table.add_row(
            row["method"],
            f"{row['var']:,.2f}",
            f"{row['cvar']:,.2f}",
            f"{row['var_pct_equity']:.2%}",
            f"{row['cvar_pct_equity']:.2%}",
        )
    console.print(table)
