"""``tradeloop daemon``: the 24/7 trading loop of one paper account."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tradeloop.cli.dates import parse_date
from tradeloop.cli.errors import handled_errors
from tradeloop.cli.intervals import INTERVALS
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.errors import ConfigError


def daemon(
    mode: Annotated[str, typer.Option(help="paper or live")] = "paper",
    account: Annotated[str, typer.Option(help="paper account (var/paper/NAME)")] = "main",
    strategy: Annotated[str, typer.Option(help="sma_cross, ml_signal or module:Class")] = (
        "sma_cross"
    ),
    tickers: Annotated[str, typer.Option(help="comma-separated symbols")] = "SPY",
    interval: Annotated[str, typer.Option(help="bar size: 1d, 1h, 5m, 1m ...")] = "1d",
    start: Annotated[str | None, typer.Option(help="history from (ISO) to warm up on")] = None,
    fast: Annotated[int, typer.Option(help="sma_cross: fast window")] = 10,
    slow: Annotated[int, typer.Option(help="sma_cross: slow window")] = 30,
    data_refresh: Annotated[
        float, typer.Option(help="minutes between incremental ingests (daily bars)")
    ] = 30.0,
    tick_interval: Annotated[float, typer.Option(help="seconds between ticks")] = 1.0,
    heartbeat: Annotated[float, typer.Option(help="seconds between heartbeats")] = 5.0,
    max_queue_len: Annotated[
        int, typer.Option(help="bars waiting in one tick before backpressure")
    ] = 50,
    backpressure: Annotated[
        str, typer.Option(help="halt (backlog opens no risk) or degrade (half size)")
    ] = "halt",
    forecast: Annotated[
        bool,
        typer.Option(help="ARIMA/EWMA forecasts per symbol at each refresh, to live.jsonl"),
    ] = True,
    cancel_open_orders_on_exit: Annotated[
        bool, typer.Option("--cancel-open-orders-on-exit", help="cancel resting orders on exit")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
) -> None:
    """Trade one paper account around the clock: every tick, step the bars stored since the
    account's cursor through the kill switch, the risk gate, the order manager and the
    simulated venue; refresh data every --data-refresh minutes (daily bars: incremental
    ingestion; intraday: one collector poll, source from the collector config) and forecast
    each symbol (ARIMA, EWMA when it fails: arima_fb in the heartbeat). Heartbeat to the
    console and var/logs/live.jsonl, errors with stack traces to var/logs/errors.jsonl; more
    than 5 failing ticks in a row switch to safe mode (new risk x0.1) until bars step
    cleanly again. SIGTERM or Ctrl-C stop after the tick in hand.

    Examples:

      tradeloop daemon --account main --tickers SPY,QQQ --data-refresh 30

      tradeloop daemon --strategy ml_signal --tickers SPY --interval 1m --tick-interval 5

    Exit codes: 0 stopped on a signal, 2 bad input or refused to start (reconciliation,
    live gate).
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.daemon import DaemonRequest, build_daemon
    from tradeloop.settings import load_settings
    from tradeloop.usecases.strategy_plans import STRATEGIES

    console = Console(highlight=False)
    stop = {"requested": False}
    with handled_errors():
        if interval not in INTERVALS:
            raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
        if strategy not in STRATEGIES and ":" not in strategy:
            raise ConfigError(f"--strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
        request = DaemonRequest(
            mode=mode,
            account=account,
            strategy=strategy,
            params={"fast": fast, "slow": slow},
            symbols=parse_symbols(tickers),
            interval_sec=INTERVALS[interval],
            start_ns=parse_date(start, "--start") if start else 0,
            data_refresh_minutes=data_refresh,
            tick_interval=tick_interval,
            heartbeat_seconds=heartbeat,
            max_queue_len=max_queue_len,
            backpressure=backpressure,
            forecast=forecast,
            cancel_on_exit=cancel_open_orders_on_exit,
        )
        built = build_daemon(
            build_app(load_settings(), config),
            request,
            should_stop=lambda: stop["requested"],
            echo=console.print,
        )

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    built.guard.announce(mode)
    for line in built.corrections:
        console.print(f"reconciled: {line}")
    console.print(
        f"daemon: {mode} account {account} on {','.join(request.symbols)} {interval}; "
        f"tick {tick_interval:g} s; stop with SIGTERM or Ctrl-C"
    )
    try:
        stats = built.daemon.run()
    finally:
        built.guard.withdraw()
    console.print(
        f"daemon stopped: {stats.cycles} ticks, {stats.orders_sent} orders sent, "
        f"{stats.orders_denied} denied, {stats.loop_errors} errors"
    )
