"""``tradeloop run``: trade a strategy through the one order path, in any mode."""

from __future__ import annotations

import json
import signal
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.dates import parse_range
from tradeloop.cli.errors import EXIT_FAILED, handled_errors
from tradeloop.cli.intervals import INTERVALS
from tradeloop.cli.progress import CommandProgress
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import iso_from_ns

if TYPE_CHECKING:
    from tradeloop.bootstrap.app import App
    from tradeloop.bootstrap.runs import RunOutcome
    from tradeloop.execution.config import ExecutionConfig
    from tradeloop.usecases.strategy_plans import StrategyPlan

MODES = ("backtest", "paper", "simulate", "live")


def run(
    mode: Annotated[str, typer.Option(help="backtest, paper, simulate or live")] = "backtest",
    strategy: Annotated[
        str,
        typer.Option(help="sma_cross, ml_signal, pim_agent, or your own package.module:ClassName"),
    ] = "sma_cross",
    tickers: Annotated[str, typer.Option(help="comma-separated symbols")] = "^GSPC",
    start: Annotated[str | None, typer.Option(help="first day (ISO)")] = None,
    end: Annotated[str | None, typer.Option(help="last day (ISO)")] = None,
    capital: Annotated[float | None, typer.Option(help="starting cash (USD)")] = None,
    interval: Annotated[str, typer.Option(help="bar size: 1d, 1h, 1m ...")] = "1d",
    fast: Annotated[int, typer.Option(help="sma_cross: fast window")] = 10,
    slow: Annotated[int, typer.Option(help="sma_cross: slow window")] = 30,
    agent: Annotated[
        str, typer.Option(help="pim_agent: the agent (alias or id; tradeloop agent train)")
    ] = "active",
    benchmark: Annotated[str | None, typer.Option(help="benchmark symbol (stored bars)")] = None,
    account: Annotated[str, typer.Option(help="paper: account name (var/paper/NAME)")] = "main",
    feed: Annotated[str, typer.Option(help="paper/simulate: replay or live")] = "replay",
    replay_speed: Annotated[
        float, typer.Option(help="replay feed: bars per second (0: as fast as possible)")
    ] = 0.0,
    poll_seconds: Annotated[float, typer.Option(help="live feed: seconds between polls")] = 30.0,
    run_once: Annotated[
        bool, typer.Option("--run-once", help="paper/simulate: step what is there, then exit")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Run a strategy through the same risk checks, order manager and ledger in every
    mode; print its metrics against buy and hold (and a benchmark) and save them as
    Markdown + JSON with an equity/drawdown PNG and the daily PnL.

    Modes: backtest (stored bars on a simulated clock and exchange); paper (a feed of
    stored bars on the wall clock, simulated exchange whose account survives restarts:
    var/paper/ACCOUNT, orders and fills in the database, reconciled on every start);
    simulate (decisions and risk checks logged to var/logs/simulate.jsonl, nothing sent);
    live (a real venue: EXCHANGE_VENUE=alpaca, EXCHANGE_MODE=paper|real, credentials in
    ALPACA_API_KEY_ID / ALPACA_API_SECRET_KEY; refuses unless symbol governance and the
    model allow it; account in var/live/ACCOUNT, reconciled with the venue on start).

    Examples:

      tradeloop ingest --tickers ^GSPC && tradeloop run --tickers ^GSPC

      tradeloop run --tickers GOOG --fast 20 --slow 50 --benchmark ^GSPC --json

      tradeloop run --mode paper --tickers GOOG --interval 1h --start 2013-01-01 --run-once

      tradeloop run --mode paper --feed live --tickers SPY --interval 5m --poll-seconds 60

    Exit codes: 0 ran, 2 bad input or the session refused to trade (reconciliation,
    live gate), 3 transient failure.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.trading import strategy_plan, trading_venue
    from tradeloop.settings import load_settings
    from tradeloop.usecases.strategy_plans import STRATEGIES

    with handled_errors():
        if mode not in MODES:
            raise ConfigError(f"--mode {mode!r}: use one of {', '.join(MODES)}")
        if interval not in INTERVALS:
            raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
        if strategy not in STRATEGIES and ":" not in strategy:
            raise ConfigError(
                f"--strategy {strategy!r}: use one of {', '.join(STRATEGIES)}, or your own "
                "as package.module:ClassName (docs/strategies.md)"
            )
        app = build_app(load_settings(), config)
        execution = _execution(app.config.execution, mode, capital)
        symbols = parse_symbols(tickers)
        first, end_ns = parse_range(start, end)
        start_ns = first or 0
        seconds = INTERVALS[interval]
        params = {"fast": fast, "slow": slow, "agent": agent}
        plan = strategy_plan(app, strategy, params, symbols, seconds)
        if mode == "backtest":
            _backtest(
                app, plan, execution, symbols, seconds, (start_ns, end_ns), benchmark, as_json
            )
            return
        venue = trading_venue(app, plan, mode, feed, symbols)
        from tradeloop.usecases.paper_run import FeedSpec

        spec = FeedSpec(
            symbols=symbols,
            interval_sec=seconds,
            start_ns=start_ns,
            end_ns=end_ns,
            feed=feed,  # type: ignore[arg-type]  # validated by FeedSpec
            replay_speed=replay_speed,
            poll_seconds=poll_seconds,
            run_once=run_once,
        )
        _trade_feed(app, plan, execution, spec, mode, account, as_json, venue)


def _execution(execution: ExecutionConfig, mode: str, capital: float | None) -> ExecutionConfig:
    if capital is None:
        return execution
    if mode == "live":
        raise ConfigError(
            "--capital: a live account starts with the equity the broker reports; drop --capital"
        )
    if capital <= 0:
        raise ConfigError(f"--capital {capital}: must be positive")
    return execution.with_changes(initial_cash_usd=capital)


def _backtest(
    app: App,
    plan: StrategyPlan,
    execution: ExecutionConfig,
    symbols: tuple[str, ...],
    seconds: int,
    window: tuple[int, int | None],
    benchmark: str | None,
    as_json: bool,
) -> None:
    from tradeloop.bootstrap.runs import BacktestRequest, backtest

    label = next((k for k, v in INTERVALS.items() if v == seconds), f"{seconds}s")
    with CommandProgress("backtest (bars)", 1, quiet=as_json) as progress:

        def on_progress(done: int, total: int) -> None:
            progress.update(done, total)

        request = BacktestRequest(
            plan, execution, symbols, seconds, window[0], window[1], benchmark, label, on_progress
        )
        outcome = backtest(app, request)
    _report(app, outcome, as_json)
    details = outcome.details
    if details["orders_denied"] and not details["fills"]:
        reasons = ", ".join(f"{code} {n}" for code, n in details["denials_by_code"].items())
        Console(stderr=True).print(
            f"every order was denied by the risk checks ({reasons}): nothing traded. "
            "Fix: see tradeloop resume for a kill switch, or the risk section of the config",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED)


def _report(app: App, outcome: RunOutcome, as_json: bool) -> None:
    from tradeloop.monitor.run_report import metric_rows, write_run_report

    title, columns = outcome.title, outcome.columns
    paths = write_run_report(
        app.settings.reports_dir,
        outcome.run_id,
        title,
        outcome.ts,
        columns,
        outcome.curves,
        outcome.details,
        outcome.daily,
    )
    if as_json:
        report = {k: str(v) for k, v in paths.items()}
        body = {"title": title, **outcome.details, "metrics": columns}
        print(json.dumps({**body, "daily_pnl": dict(outcome.daily), "report": report}, indent=2))
        return
    table = Table(title=title)
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for row in metric_rows(columns):
        table.add_row(*row)
    console = Console()
    console.print(table)
    if outcome.details.get("note"):
        console.print(outcome.details["note"], highlight=False)
    console.print(
        f"report: {paths['markdown']}  (JSON {paths['json'].name}, PNG {paths['png'].name})"
    )


def _trade_feed(
    app: App,
    plan: StrategyPlan,
    execution: ExecutionConfig,
    spec: Any,
    mode: str,
    account_name: str,
    as_json: bool,
    venue: Any = None,
) -> None:

    from tradeloop.bootstrap.runs import feed_outcome
    from tradeloop.bootstrap.trade_feed import FeedRequest, open_feed

    console = Console(stderr=as_json)
    stop = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True  # finish the bar in hand; the cursor stays consistent

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    approved = "would send" if mode == "simulate" else "sent"  # simulate sends nothing

    def on_step(bar: Any, step: Any) -> None:
        if as_json:
            return
        for decision in step.decisions:
            order = decision.order
            verdict = approved if decision.sent else f"denied: {decision.denial}"
            console.print(
                f"{iso_from_ns(bar.ts)} {order.symbol} {order.side} {order.quantity} "
                f"({order.reason}) {verdict}"
            )

    feed = open_feed(
        app,
        FeedRequest(plan, execution, spec, mode, account_name, venue),
        on_step=on_step,
        should_stop=lambda: stop["requested"],
    )
    for line in feed.banner:
        console.print(line, highlight=False)
    outcome = feed_outcome(feed, mode, feed.run())
    if not outcome.ts.size:
        if as_json:
            print(json.dumps(outcome.details, indent=2))
        else:
            equity = f"{Decimal(outcome.details['equity']):,.2f}"
            console.print(f"{mode}: no new bars; equity {equity}")
        return
    _report(app, outcome, as_json)
