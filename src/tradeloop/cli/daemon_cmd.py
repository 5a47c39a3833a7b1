"""``tradeloop daemon``: the 24/7 trading loop of one paper account."""

from __future__ import annotations

import getpass
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tradeloop.bootstrap import build_app
from tradeloop.bootstrap.trading import (
    require_fresh_model,
    require_governed,
    require_live,
    strategy_plan,
)
from tradeloop.cli.dates import parse_date
from tradeloop.cli.errors import handled_errors
from tradeloop.cli.intervals import INTERVALS
from tradeloop.cli.symbols import parse_symbols
from tradeloop.core.errors import ConfigError
from tradeloop.settings import load_settings
from tradeloop.usecases.strategy_plans import STRATEGIES


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
    from tradeloop.data.live_guard import LiveGuard
    from tradeloop.monitor.trading_metrics import TradingTracker
    from tradeloop.usecases.daemon import DaemonConfig, ScaledStrategy, run_daemon
    from tradeloop.usecases.daily_report import latest_state
    from tradeloop.usecases.paper_run import FeedSpec
    from tradeloop.usecases.paper_trading import PaperAccount, open_account

    console = Console(highlight=False)
    with handled_errors():
        if mode not in ("paper", "live"):
            raise ConfigError(f"--mode {mode!r}: use paper or live")
        if interval not in INTERVALS:
            raise ConfigError(f"--interval {interval!r}: use one of {', '.join(INTERVALS)}")
        if strategy not in STRATEGIES and ":" not in strategy:
            raise ConfigError(f"--strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
        if backpressure not in ("halt", "degrade") or max_queue_len < 1:
            raise ConfigError("--backpressure is halt or degrade; --max-queue-len at least 1")
        if tick_interval <= 0 or heartbeat <= 0 or data_refresh <= 0:
            raise ConfigError("--tick-interval, --heartbeat and --data-refresh must be positive")
        app = build_app(load_settings(), config)
        symbols = parse_symbols(tickers)
        seconds = INTERVALS[interval]
        plan = strategy_plan(app, strategy, {"fast": fast, "slow": slow}, symbols, seconds)
        require_fresh_model(app, plan)
        if mode != "live":
            require_governed(app, symbols, live=False)
        venue = require_live(app, symbols) if mode == "live" else None
        start_ns = parse_date(start, "--start") if start else 0
        scaled = ScaledStrategy(plan.strategy)
        if venue is not None:
            paper = PaperAccount.under(app.settings.home / "live", account, live=True)
        else:
            paper = PaperAccount.under(app.settings.paper_dir, account)
        opened = open_account(
            paper,
            db=app.engine,
            strategy=scaled,
            execution=app.config.execution,
            risk=app.config.risk,
            kill_switch=app.loop_deps().kill_switch,
            now_ns=time.time_ns(),
            actor=getpass.getuser(),
            live=venue,
        )
    stop = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    store = app.ingest_store()

    def load(syms: tuple[str, ...], secs: int, first: int, last: int) -> Any:
        return store.load_bars_many(list(syms), secs, first, last)

    refresh = (
        _refresh(app, symbols) if seconds >= 86_400 else _intraday_refresh(app, symbols, seconds)
    )
    var_check = _var_check(app, paper, store) if app.config.risk.max_var_fraction else None
    forecaster = _forecaster(app, symbols, seconds, store) if forecast else None
    guard = LiveGuard(app.settings.trading_mode_path)
    guard.announce(mode)
    for line in opened.reconciliation.corrections:
        console.print(f"reconciled: {line}")
    console.print(
        f"daemon: {mode} account {account} on {','.join(symbols)} {interval}; "
        f"tick {tick_interval:g} s; stop with SIGTERM or Ctrl-C"
    )
    try:
        stats = run_daemon(
            opened,
            paper,
            plan,
            scaled,
            FeedSpec(
                symbols=symbols,
                interval_sec=seconds,
                start_ns=start_ns,
                end_ns=None,
                feed="live",
                poll_seconds=tick_interval,
            ),
            load,
            db=app.engine,
            config=DaemonConfig(
                tick_interval=tick_interval,
                data_refresh_minutes=data_refresh,
                heartbeat_seconds=heartbeat,
                safe_mode_scale=Decimal("0.1"),
                cancel_on_exit=cancel_open_orders_on_exit,
                max_queue_len=max_queue_len,
                backpressure=backpressure,
                stale_max_hours=app.config.scorer.stale_max_hours,
            ),
            logs=app.settings.logs_dir,
            refresh=refresh,
            metrics=app.settings.home / "metrics" / "risk.prom",
            var_check=var_check,
            forecast=forecaster,
            report_state=lambda: latest_state(app.settings.reports_dir),
            tracker=TradingTracker(route=mode),
            should_stop=lambda: stop["requested"],
            echo=console.print,
        )
    finally:
        guard.withdraw()
    console.print(
        f"daemon stopped: {stats.cycles} ticks, {stats.orders_sent} orders sent, "
        f"{stats.orders_denied} denied, {stats.loop_errors} errors"
    )


def _refresh(app: Any, symbols: tuple[str, ...]) -> Any:
    from tradeloop.core.ids import new_run_id
    from tradeloop.data.ingest import IngestMode, IngestPlan

    def refresh() -> None:
        entries = tuple(e for e in app.universe().entries if e.symbol in symbols)
        if not entries:
            return  # symbols outside the universe: nothing ingestion may fetch
        plan = IngestPlan(mode=IngestMode.INCREMENTAL, entries=entries, as_of_ns=time.time_ns())
        run_id = new_run_id("ingest")
        app.ingestor().run(plan, fetcher=app.fetcher(run_id), run_id=run_id)

    return refresh


def _intraday_refresh(app: Any, symbols: tuple[str, ...], seconds: int) -> Any:
    """One collector poll of the daemon's symbols (source and look-back from the
    collector config / LIVE_COLLECTOR_*): intraday bars and their touch events. Built on
    first use, so a source that cannot be reached is a logged refresh error, not a stop."""
    from tradeloop.bootstrap import collector_config
    from tradeloop.bootstrap.collector_source import collector_provider
    from tradeloop.usecases.collector import Collector

    made: dict[str, Any] = {}

    def refresh() -> None:
        if "collector" not in made:
            settings = collector_config(app.config).model_copy(
                update={"symbols": symbols, "bar_interval_sec": seconds}
            )
            provider = collector_provider(
                app, settings.source, symbols, seconds, settings.range_days, "synthetic", 1.0
            )
            store = app.ingest_store()
            made["collector"] = Collector(
                provider=provider,
                bars=store,
                events=app.event_store(),
                last_bar_ts=store.last_bar_ts,
                config=settings,
                pivots=app.config.pivots,
            )
        collector = made["collector"]
        collector.poll()
        if collector.health.last_error is not None:
            raise RuntimeError(f"collector poll failed: {collector.health.last_error}")

    return refresh


def _forecaster(app: Any, symbols: tuple[str, ...], seconds: int, store: Any) -> Any:
    """Each symbol's forecast from its latest stored closes (``forecast`` config)."""
    from tradeloop.models.forecaster import forecast_returns

    config = app.config.forecast

    def run() -> dict[str, Any]:
        bars = store.load_bars_many(list(symbols), seconds, 0, time.time_ns())
        made = {}
        for symbol in symbols:
            closes = bars.filter(bars["symbol"] == symbol).sort("ts")["close"].to_numpy()
            made[symbol] = forecast_returns(closes[-(config.window + 1) :], config)
        return made

    return run


def _var_check(app: Any, account: Any, store: Any) -> Any:
    """The breach text while the account's 1-day historical VaR is over the limit."""
    from tradeloop.usecases.risk_report import account_risk

    risk = app.config.risk

    def check() -> str | None:
        report = account_risk(
            app.engine,
            account,
            store.load_bars_many,
            level=risk.var_level,
            lookback=250,
            interval_sec=86_400,
            now_ns=time.time_ns(),
            with_garch=False,
        )
        if not report.positions or report.equity <= 0:
            return None
        share = report.estimates[0].var / report.equity
        if share <= risk.max_var_fraction:
            return None
        return (
            f"1-day {risk.var_level:.0%} historical VaR {share:.2%} of equity > "
            f"risk.max_var_fraction {risk.max_var_fraction:.2%}"
        )

    return check
