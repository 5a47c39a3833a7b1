"""The trading daemon composed from the configuration: the account opened (reconciled),
the strategy plan checked, and the periodic tasks (incremental ingestion or a collector
poll, forecasts, the VaR limit, the daily report's state) built for ``TradingDaemon``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.bootstrap.trading import (
    open_trading_account,
    require_fresh_model,
    require_governed,
    require_live,
    strategy_plan,
)
from tradeloop.core.errors import ConfigError
from tradeloop.data.live_guard import LiveGuard
from tradeloop.models.forecaster import Forecast
from tradeloop.monitor.trading_metrics import TradingTracker
from tradeloop.store.sql.ingest_store import SqlIngestStore
from tradeloop.usecases.daemon import (
    DaemonAccount,
    DaemonConfig,
    DaemonTasks,
    DaemonWorld,
    ScaledStrategy,
    TradingDaemon,
)
from tradeloop.usecases.daily_report import latest_state
from tradeloop.usecases.paper_run import FeedSpec
from tradeloop.usecases.paper_trading import PaperAccount


@dataclass(frozen=True, slots=True)
class DaemonRequest:
    """What ``tradeloop daemon`` was asked for (validated by the command)."""

    mode: str
    account: str
    strategy: str
    params: dict[str, Any]
    symbols: tuple[str, ...]
    interval_sec: int
    start_ns: int
    data_refresh_minutes: float
    tick_interval: float
    heartbeat_seconds: float
    max_queue_len: int
    backpressure: str
    forecast: bool
    cancel_on_exit: bool

    def __post_init__(self) -> None:
        if self.mode not in ("paper", "live"):
            raise ConfigError(f"--mode {self.mode!r}: use paper or live")
        if self.backpressure not in ("halt", "degrade") or self.max_queue_len < 1:
            raise ConfigError("--backpressure is halt or degrade; --max-queue-len at least 1")
        if min(self.tick_interval, self.heartbeat_seconds, self.data_refresh_minutes) <= 0:
            raise ConfigError("--tick-interval, --heartbeat and --data-refresh must be positive")


@dataclass(frozen=True, slots=True)
class BuiltDaemon:
    daemon: TradingDaemon
    guard: LiveGuard
    corrections: tuple[str, ...]


def build_daemon(
    app: App, request: DaemonRequest, *, should_stop: Callable[[], bool], echo: Any
) -> BuiltDaemon:
    """Refuses (stale or kill-switched model, ungoverned symbols, no live venue, an
    account that does not reconcile) before anything trades."""
    symbols, seconds = request.symbols, request.interval_sec
    plan = strategy_plan(app, request.strategy, request.params, symbols, seconds)
    require_fresh_model(app, plan)
    live = request.mode == "live"
    if not live:
        require_governed(app, symbols, live=False)
    venue = require_live(app, symbols) if live else None
    scaled = ScaledStrategy(plan.strategy)
    paper, opened = open_trading_account(app, request.account, scaled, app.config.execution, venue)
    store = app.ingest_store()

    def load(syms: tuple[str, ...], secs: int, first: int, last: int) -> Any:
        return store.load_bars_many(list(syms), secs, first, last)

    spec = FeedSpec(
        symbols=symbols,
        interval_sec=seconds,
        start_ns=request.start_ns,
        end_ns=None,
        feed="live",
        poll_seconds=request.tick_interval,
    )
    world = DaemonWorld(logs=app.settings.logs_dir, should_stop=should_stop, echo=echo)
    daemon = TradingDaemon(
        DaemonAccount(opened, paper, plan, scaled, spec, load, app.paper_stores()),
        _daemon_config(app, request),
        _daemon_tasks(app, request, paper, store),
        world,
    )
    guard = LiveGuard(app.settings.trading_mode_path)
    return BuiltDaemon(daemon, guard, tuple(opened.reconciliation.corrections))


def _daemon_config(app: App, request: DaemonRequest) -> DaemonConfig:
    return DaemonConfig(
        tick_interval=request.tick_interval,
        data_refresh_minutes=request.data_refresh_minutes,
        heartbeat_seconds=request.heartbeat_seconds,
        safe_mode_scale=Decimal("0.1"),
        cancel_on_exit=request.cancel_on_exit,
        max_queue_len=request.max_queue_len,
        backpressure=request.backpressure,
        stale_max_hours=app.config.scorer.stale_max_hours,
    )


def _daemon_tasks(
    app: App, request: DaemonRequest, paper: PaperAccount, store: SqlIngestStore
) -> DaemonTasks:
    """The periodic work: new data (daily bars: incremental ingestion; intraday: a
    collector poll), the VaR limit, forecasts, the daily report's state, the metrics."""
    symbols, seconds = request.symbols, request.interval_sec
    daily = seconds >= 86_400
    return DaemonTasks(
        refresh=_refresh(app, symbols) if daily else _intraday_refresh(app, symbols, seconds),
        var_check=_var_check(app, paper, store) if app.config.risk.max_var_fraction else None,
        forecast=_forecaster(app, symbols, seconds, store) if request.forecast else None,
        report_state=lambda: latest_state(app.settings.reports_dir),
        tracker=TradingTracker(route=request.mode),
        metrics=app.settings.home / "metrics" / "risk.prom",
        live_limits=_live_limits(app, request.account) if request.mode == "live" else None,
    )


def _live_limits(app: App, account: str) -> Any:
    """Each cycle: the live account's limits now, or why it may no longer trade live."""
    from tradeloop.bootstrap.rollout import AppModeEvidence, actor, mode_store
    from tradeloop.core.errors import TradingRefused
    from tradeloop.usecases.mode_transition import live_limits

    def check() -> tuple[Any, Any] | str:
        try:
            limits = live_limits(
                mode_store(app),
                AppModeEvidence(app),
                app.config.promotion,
                account,
                app.config.risk,
                time.time_ns(),
                actor(app, "ramp"),
            )
        except TradingRefused as exc:
            return str(exc)
        return limits.risk, limits.first_day

    return check


def _refresh(app: App, symbols: tuple[str, ...]) -> Callable[[], None]:
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


def _intraday_refresh(app: App, symbols: tuple[str, ...], seconds: int) -> Callable[[], None]:
    """One collector poll of the daemon's symbols (source and look-back from the
    collector config / LIVE_COLLECTOR_*): intraday bars and their touch events. Built on
    first use, so a source that cannot be reached is a logged refresh error, not a stop."""
    from tradeloop.bootstrap.app import collector_config
    from tradeloop.bootstrap.collector_source import build_collector

    made: dict[str, Any] = {}

    def refresh() -> None:
        if "collector" not in made:
            settings = collector_config(app.config).with_changes(
                symbols=symbols, bar_interval_s=seconds, score_enabled=False, replay_speed=1.0
            )
            made["collector"] = build_collector(app, settings, "synthetic")
        collector = made["collector"]
        collector.poll()
        if collector.health.last_error is not None:
            raise RuntimeError(f"collector poll failed: {collector.health.last_error}")

    return refresh


def _forecaster(
    app: App, symbols: tuple[str, ...], seconds: int, store: SqlIngestStore
) -> Callable[[], dict[str, Forecast]]:
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


def _var_check(app: App, account: PaperAccount, store: SqlIngestStore) -> Callable[[], str | None]:
    """The breach text while the account's 1-day historical VaR is over the limit."""
    from tradeloop.usecases.risk_report import account_risk

    risk = app.config.risk
    limit = risk.max_var_fraction
    if limit is None:  # the daemon builds this check only when the limit is set
        raise ValueError("the VaR check needs risk.max_var_fraction")

    def check() -> str | None:
        report = account_risk(
            app.paper_stores(),
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
        if share <= limit:
            return None
        return (
            f"1-day {risk.var_level:.0%} historical VaR {share:.2%} of equity > "
            f"risk.max_var_fraction {limit:.2%}"
        )

    return check
