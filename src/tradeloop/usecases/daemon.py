"""The trading daemon: one paper account, 24/7, on the wall clock.

Every tick (``tick_interval`` s) it reads the bars stored since its cursor, steps each
closed bar through the one order path (kill switch, risk gate, order manager, venue,
ledger) and persists the account; every ``data_refresh`` minutes it asks ``refresh`` for
new data (incremental ingestion), whose failures are logged and counted but never stop
trading decisions on the data there is. A heartbeat line goes to the console and
``var/logs/live.jsonl`` every ``heartbeat`` seconds, with the risk gate's counters in
``var/metrics/risk.prom``; every error, with its stack trace, to ``var/logs/errors.jsonl``.

Safe mode: more than ``safe_mode_errors`` consecutive failing ticks (a strategy or model
that raises, a store that does not answer) scale every order that adds risk to
``safe_mode_scale`` of its size; the first tick that steps bars without an error lifts it.
Backpressure: when one tick finds more than ``max_queue_len`` bars waiting (the daemon
fell behind: an outage, a bulk load), ``halt`` lets that backlog close and shrink positions
but opens none, ``degrade`` halves new risk; counted as ``backpressure_total{mode}``.
SIGTERM / SIGINT finish the tick in hand; with ``cancel_on_exit`` resting orders are then
canceled (through the order manager, so the journal agrees).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import polars as pl

from tradeloop.core.clock import Clock, WallClock
from tradeloop.core.time import iso_from_ns
from tradeloop.domain.enums import TradingState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.kernel import Cursor, Pacer, PeriodicTask
from tradeloop.execution.session import bar_views
from tradeloop.execution.strategy import Strategy, StrategyContext
from tradeloop.models.forecaster import Forecast
from tradeloop.monitor.risk_metrics import write_risk_metrics
from tradeloop.monitor.trading_metrics import TradingTracker
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import RiskGate
from tradeloop.usecases.paper_run import FeedSpec, feed_frame, latest
from tradeloop.usecases.paper_trading import (
    PaperAccount,
    PaperStart,
    PaperStores,
    account_kernel,
)
from tradeloop.usecases.strategy_plans import StrategyPlan


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    tick_interval: float = 1.0
    data_refresh_minutes: float = 30.0
    heartbeat_seconds: float = 5.0
    safe_mode_errors: int = 5
    safe_mode_scale: Decimal = Decimal("0.1")
    cancel_on_exit: bool = False
    max_queue_len: int = 50  # bars waiting in one tick before backpressure applies
    stale_max_hours: float | None = None  # an ML plan's model older than this opens no risk
    backpressure: str = "halt"  # halt: no new risk from the backlog; degrade: half size


@dataclass(slots=True)
class DaemonStats:
    started_ns: int = field(default_factory=time.time_ns)
    cycles: int = 0
    bars: int = 0
    orders_sent: int = 0
    orders_denied: int = 0
    fills: int = 0
    model_errors: int = 0
    arima_fb: int = 0  # forecasts where ARIMA failed and EWMA stood in
    forecasts: int = 0
    loop_errors: int = 0
    refresh_errors: int = 0
    consecutive_errors: int = 0
    safe_mode: bool = False
    backpressure: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    last_error: str = ""  # the latest tick error, one line, shown on the console once
    no_data: tuple[str, ...] = ()  # symbols with no stored bar in the feed's range


class ScaledStrategy:
    """The strategy with every order that adds risk scaled by ``scale`` (safe mode);
    orders that close or shrink a position pass unchanged."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.scale: Decimal | None = None
        self.dropped = 0  # orders that scaled to nothing (backpressure halt, tiny sizes)

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        orders = self.inner.on_bar(bar, context)
        if self.scale is None:
            return orders
        scaled = []
        for order in orders:
            after = context.position + order.signed_quantity
            if abs(after) <= abs(context.position):
                scaled.append(order)
                continue
            quantity = (order.quantity * self.scale).to_integral_value(rounding=ROUND_FLOOR)
            if quantity <= 0:
                self.dropped += 1
            else:
                scaled.append(
                    SubmitOrder(
                        client_order_id=order.client_order_id,
                        symbol=order.symbol,
                        side=order.side,
                        quantity=quantity,
                        ts_init=order.ts_init,
                        order_type=order.order_type,
                        limit_price=order.limit_price,
                        reason=f"{order.reason} (safe mode x{self.scale})",
                        stop_price=order.stop_price,
                        time_in_force=order.time_in_force,
                    )
                )
        return scaled


class JsonLines:
    """Append-only JSON lines (one file per stream under var/logs/)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str) + "\n")


@dataclass(frozen=True, slots=True)
class DaemonAccount:
    """What the daemon trades: an opened account, its strategy plan (wrapped for safe mode
    and backpressure), the feed and where its bars are loaded from."""

    start: PaperStart
    account: PaperAccount
    plan: StrategyPlan
    scaled: ScaledStrategy
    spec: FeedSpec
    load: Callable[[tuple[str, ...], int, int, int], pl.DataFrame]
    stores: PaperStores


@dataclass(frozen=True, slots=True)
class DaemonTasks:
    """The periodic work beside trading, each optional: incremental ingestion, the VaR
    limit, forecasts, the daily report's state, the trading metrics and their file."""

    refresh: Callable[[], None] | None = None
    var_check: Callable[[], str | None] | None = None
    forecast: Callable[[], dict[str, Forecast]] | None = None
    report_state: Callable[[], tuple[str, str] | None] | None = None
    tracker: TradingTracker | None = None
    metrics: Path | None = None
    # a live account: its limits now (the ramp's step), or why it may not trade live
    live_limits: Callable[[], tuple[RiskConfig, RiskConfig] | str] | None = None


@dataclass(frozen=True, slots=True)
class DaemonWorld:
    """What the loop reads and writes outside the account: the clock (wall time for
    stamps, a monotonic one for intervals), logs, the console, the stop signal."""

    logs: Path
    should_stop: Callable[[], bool]
    echo: Callable[[str], None]
    clock: Clock = field(default_factory=WallClock)
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class TradingDaemon:
    """The account on the wall clock: periodic tasks, then one tick (the bars stored since
    the cursor stepped through the one order path), then a heartbeat when due."""

    def __init__(
        self, traded: DaemonAccount, config: DaemonConfig, tasks: DaemonTasks, world: DaemonWorld
    ) -> None:
        self.traded, self.config, self.tasks, self.world = traded, config, tasks, world
        self.stats = DaemonStats(started_ns=world.clock.now_ns())
        self.live = JsonLines(world.logs / "live.jsonl")
        self.errors = JsonLines(world.logs / "errors.jsonl")
        engine = traded.start.session.engine
        self.engine = engine
        self.kernel = account_kernel(traded.start, traded.account, traded.stores, [self._record])
        self.seen = {"fills": len(engine.fills), "closed": len(engine.portfolio.closed_trades)}
        every = config.data_refresh_minutes * 60
        self.periodic = [
            PeriodicTask(every, action)
            for hook, action in (
                (tasks.refresh, self._refresh),
                (tasks.var_check, self._var),
                (tasks.forecast, self._forecast),
            )
            if hook is not None
        ]
        self.heartbeat = PeriodicTask(config.heartbeat_seconds, self._heartbeat)

    def run(self) -> DaemonStats:
        """The kernel on the wall clock until ``should_stop``; returns what it did."""
        world = self.world
        self.kernel.run(
            self._cycle,
            every_s=self.config.tick_interval,
            should_stop=world.should_stop,
            pacer=Pacer(world.monotonic, world.sleep),
            before=self.periodic,
            after=[self.heartbeat],
        )
        self._stop()
        return self.stats

    def _cycle(self) -> None:
        """The guards, one tick (a failing one counted, never fatal), the metrics."""
        self._guards()
        self.stats.cycles += 1
        try:
            self._tick()
        except Exception as exc:
            self._failed(exc)
        if self.tasks.tracker is not None:
            _feed_tracker(self.tasks.tracker, self.traded.start, self.seen)

    def _refresh(self) -> None:
        assert self.tasks.refresh is not None
        try:
            self.tasks.refresh()
        except Exception as exc:  # data trouble never stops decisions on stored data
            self.stats.refresh_errors += 1
            _log_error(self.errors, "refresh", exc)

    def _var(self) -> None:
        assert self.tasks.var_check is not None
        _apply_var_limit(self.engine.gate, self.tasks.var_check, self.errors, self.world.echo)

    def _forecast(self) -> None:
        assert self.tasks.forecast is not None
        now = self.world.clock.now_ns()
        _forecast(self.tasks.forecast, self.stats, self.live, self.errors, now)

    def _guards(self) -> None:
        """A live account's mode and ramp step; an ML plan's model: the daily report's
        kill-switch and the model's age."""
        model, gate, echo = self.traded.plan.model, self.engine.gate, self.world.echo
        if self.tasks.live_limits is not None:
            _apply_live_mode(gate, self.tasks.live_limits(), echo)
        if model is None:
            return
        if self.tasks.report_state is not None:
            _apply_report_state(gate, self.tasks.report_state(), echo)
        if self.config.stale_max_hours is not None:
            age = model.age_seconds(self.world.clock.now_ns()) / 3600
            _apply_model_age(gate, age, self.config.stale_max_hours, echo)

    def _tick(self) -> None:
        traded, stats, scaled, kernel = self.traded, self.stats, self.traded.scaled, self.kernel
        self.engine.halt_if_killed(self.engine.clock.now_ns())
        frame = feed_frame(traded.load, traded.spec, self.world.clock.now_ns())
        _note_missing_symbols(stats, traded.spec, frame, self.world.echo)
        if kernel.cursor is None and not frame.is_empty():
            kernel.start_at(latest(frame))  # a new account trades from now on
        stepped_before = stats.bars
        try:
            prepared = traded.plan.prepare(frame) if not frame.is_empty() else frame
        except Exception:
            stats.model_errors += 1  # scoring failed: counted, the tick is an error
            raise
        pressured = self._backpressure(_waiting(prepared, kernel.cursor))
        if not prepared.is_empty():
            kernel.advance(bar_views(prepared, traded.plan.columns), self.world.should_stop)
        if pressured:
            scaled.scale = self.config.safe_mode_scale if stats.safe_mode else None
        stats.dropped = scaled.dropped
        stats.consecutive_errors = 0
        if stats.safe_mode and stats.bars > stepped_before:
            stats.safe_mode, scaled.scale = False, None
            self.world.echo("SAFE MODE off: bars stepped without errors")
            if self.tasks.tracker is not None:
                self.tasks.tracker.switch("safe", "normal")

    def _backpressure(self, backlog: int) -> bool:
        """More bars waiting than ``max_queue_len`` (not on the warm-up tick): the backlog
        opens no risk (halt) or half of it (degrade). True while it applies."""
        config = self.config
        if backlog <= config.max_queue_len or self.kernel.warming:
            return False
        mode = config.backpressure
        self.stats.backpressure[mode] = self.stats.backpressure.get(mode, 0) + 1
        self.world.echo(f"BACKPRESSURE {mode}: {backlog} bars waiting (max {config.max_queue_len})")
        self.traded.scaled.scale = Decimal(0) if mode == "halt" else Decimal("0.5")
        return True

    def _record(self, bar: BarView, step: Any) -> None:
        stats, tracker = self.stats, self.tasks.tracker
        stats.bars += 1
        stats.fills += step.fills
        for decision in step.decisions:
            order = decision.order
            if decision.sent:
                stats.orders_sent += 1
                if tracker is not None:
                    tracker.on_sent(order, self.engine.portfolio.quantity(order.symbol))
            else:
                stats.orders_denied += 1
            verdict = "sent" if decision.sent else f"denied: {decision.denial}"
            self.world.echo(
                f"{iso_from_ns(bar.ts)} {order.symbol} {order.side} {order.quantity} "
                f"({order.reason}) {verdict}"
            )

    def _failed(self, exc: Exception) -> None:
        """A failing tick: logged with its trace, said once per new reason; more than
        ``safe_mode_errors`` in a row switch safe mode on."""
        stats, config, echo = self.stats, self.config, self.world.echo
        stats.loop_errors += 1
        stats.consecutive_errors += 1
        _log_error(self.errors, "tick", exc)
        line = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if line != stats.last_error:  # each new reason once, not every tick
            stats.last_error = line
            echo(f"TICK ERROR: {line} (details in {self.world.logs / 'errors.jsonl'})")
        if stats.consecutive_errors > config.safe_mode_errors and not stats.safe_mode:
            stats.safe_mode, self.traded.scaled.scale = True, config.safe_mode_scale
            if self.tasks.tracker is not None:
                self.tasks.tracker.switch("normal", "safe")
            echo(
                f"SAFE MODE on: {stats.consecutive_errors} failing ticks in a row; "
                f"new risk scaled x{config.safe_mode_scale}"
            )

    def _heartbeat(self) -> None:
        now = self.world.clock.now_ns()
        line = _heartbeat(self.stats, self.traded.spec, now)
        self.world.echo(line)
        record = {"ts": iso_from_ns(now), "event": "heartbeat", "line": line}
        self.live.write({**record, **_counters(self.stats)})
        self._write_metrics()

    def _write_metrics(self) -> None:
        metrics, tracker = self.tasks.metrics, self.tasks.tracker
        if metrics is None:
            return
        name = self.traded.account.name
        write_risk_metrics(self.engine.gate, name, metrics)
        if tracker is not None:
            tracker.write(metrics.parent / "daemon.prom", name, _counters(self.stats))

    def _wait(self, remaining: float) -> None:
        while remaining > 0 and not self.world.should_stop():
            self.world.sleep(min(remaining, 0.2))
            remaining -= 0.2

    def _stop(self) -> None:
        """Resting orders canceled if asked (through the order manager, so the journal
        agrees); the last metrics and a ``stopped`` line written."""
        engine = self.engine
        if self.config.cancel_on_exit:
            for status in engine.venue.open_orders():
                canceled = engine.venue.cancel(status.client_order_id)
                if canceled is not None:
                    engine.orders.on_status(canceled)
                    self.world.echo(f"canceled on exit: {status.client_order_id}")
        self._write_metrics()  # the denials since the last heartbeat are counted too
        now = iso_from_ns(self.world.clock.now_ns())
        self.live.write({"ts": now, "event": "stopped", **_counters(self.stats)})


VAR_REASON = "VaR limit"


def _feed_tracker(tracker: TradingTracker, start: PaperStart, seen: dict[str, int]) -> None:
    engine = start.session.engine
    for fill in engine.fills[seen["fills"] :]:
        tracker.on_fill(fill)
    seen["fills"] = len(engine.fills)
    closed = engine.portfolio.closed_trades
    for trade in closed[seen["closed"] :]:
        tracker.on_closed(trade.pnl)
    seen["closed"] = len(closed)
    tracker.on_tick(start.session.marks, engine.gate.state.trading_state.value)


def _forecast(
    forecast: Callable[[], dict[str, Forecast]],
    stats: DaemonStats,
    live: JsonLines,
    errors: JsonLines,
    now: int,
) -> None:
    """Multi-horizon forecasts per symbol into live.jsonl; ARIMA fits that fell back to
    EWMA are counted (``arima_fb``), failures are model errors, never fatal."""
    try:
        made = forecast()
    except Exception as exc:
        stats.model_errors += 1
        _log_error(errors, "forecast", exc)
        return
    for symbol, result in made.items():
        stats.forecasts += 1
        stats.arima_fb += int(result.fell_back)
        live.write(
            {"ts": iso_from_ns(now), "event": "forecast", "symbol": symbol, **result.as_dict()}
        )


def _apply_var_limit(
    gate: RiskGate,
    var_check: Callable[[], str | None],
    errors: JsonLines,
    echo: Callable[[str], None],
) -> None:
    """REDUCING while the portfolio's VaR is over ``risk.max_var_fraction``; back to
    ACTIVE once it is under again (only if the VaR limit put it there)."""
    try:
        breach = var_check()
    except Exception as exc:  # no estimate (too little history): keep the state, log it
        _log_error(errors, "var", exc)
        return
    state = gate.state
    if breach is not None and state.trading_state is TradingState.ACTIVE:
        gate.set_trading_state(TradingState.REDUCING, f"{VAR_REASON}: {breach}")
        echo(f"REDUCING: {breach}")
    elif (
        breach is None
        and state.trading_state is TradingState.REDUCING
        and state.state_reason.startswith(VAR_REASON)
    ):
        gate.set_trading_state(TradingState.ACTIVE, "")
        echo("ACTIVE: VaR back under the limit")


STALE_REASON = "model stale"
REPORT_REASON = "daily report kill-switch"


def _apply_report_state(
    gate: RiskGate, report: tuple[str, str] | None, echo: Callable[[str], None]
) -> None:
    """While the latest daily ML report says kill-switch, ML signals open no risk
    (REDUCING: exits still pass); a newer report that does not lifts it."""
    state = gate.state
    if report is not None and report[0] == "kill-switch":
        if state.trading_state is TradingState.ACTIVE:
            gate.set_trading_state(TradingState.REDUCING, f"{REPORT_REASON}: {report[1]}")
            echo(f"REDUCING: {gate.state.state_reason}")
    elif state.trading_state is TradingState.REDUCING and state.state_reason.startswith(
        REPORT_REASON
    ):
        gate.set_trading_state(TradingState.ACTIVE, "")
        echo("ACTIVE: the daily report is no longer kill-switch")


DEMOTED_REASON = "account no longer in live mode"


def _apply_live_mode(
    gate: RiskGate, limits: tuple[RiskConfig, RiskConfig] | str, echo: Callable[[str], None]
) -> None:
    """A demoted account opens no risk (REDUCING: exits still pass); a new ramp step's
    limits apply from the next order; promoted back, it trades again."""
    state = gate.state
    if isinstance(limits, str):
        if state.trading_state is TradingState.ACTIVE:
            gate.set_trading_state(TradingState.REDUCING, f"{DEMOTED_REASON}: {limits}")
            echo(f"REDUCING: {gate.state.state_reason}")
        return
    risk, first_day = limits
    if risk != gate.config or first_day != gate.first_day_config:
        gate.reconfigure(risk, first_day)
        echo(
            f"live limits now: position {risk.max_position_size}, deployed "
            f"{risk.max_deployed_usd or 'the whole account'} USD"
        )
    if state.trading_state is TradingState.REDUCING and state.state_reason.startswith(
        DEMOTED_REASON
    ):
        gate.set_trading_state(TradingState.ACTIVE, "")
        echo("ACTIVE: the account is in live mode again")


def _apply_model_age(
    gate: RiskGate, age_hours: float, limit: float, echo: Callable[[str], None]
) -> None:
    """An ML strategy's model ages while the daemon runs: past the scorer's
    ``stale_max_hours`` its signals open no risk (REDUCING: exits still pass) until a
    daemon restarted on a retrained model; the state says why."""
    state = gate.state
    if age_hours > limit and state.trading_state is TradingState.ACTIVE:
        gate.set_trading_state(
            TradingState.REDUCING,
            f"{STALE_REASON}: trained on data ending {age_hours:.0f} h ago (limit {limit:g} h); "
            "retrain and restart the daemon",
        )
        echo(f"REDUCING: {state.state_reason}")


def _waiting(frame: pl.DataFrame, cursor: Cursor | None) -> int:
    """Bars of ``frame`` after ``cursor``: the work this tick must do."""
    if cursor is None or frame.is_empty():
        return 0
    later = (pl.col("ts") > cursor[0]) | (
        (pl.col("ts") == cursor[0]) & (pl.col("symbol") > cursor[1])
    )
    return frame.filter(later).height


def _counters(stats: DaemonStats) -> dict[str, Any]:
    return {
        "cycles": stats.cycles,
        "bars": stats.bars,
        "orders_sent": stats.orders_sent,
        "orders_denied": stats.orders_denied,
        "fills": stats.fills,
        "model_errors": stats.model_errors,
        "arima_fb": stats.arima_fb,
        "forecasts": stats.forecasts,
        "loop_errors": stats.loop_errors,
        "refresh_errors": stats.refresh_errors,
        "safe_mode": stats.safe_mode,
        "backpressure_total": dict(stats.backpressure),
        "signals_dropped": stats.dropped,
        "no_data": list(stats.no_data),
        "last_error": stats.last_error,
    }


def _heartbeat(stats: DaemonStats, spec: FeedSpec, now: int) -> str:
    uptime = int((now - stats.started_ns) / 1e9)
    return (
        f"HEARTBEAT | uptime={uptime}s | symbols={len(spec.symbols)} | cycles={stats.cycles} "
        f"| model_errors={stats.model_errors} | arima_fb={stats.arima_fb} "
        f"| orders={stats.orders_sent} "
        f"| denied={stats.orders_denied} | errors={stats.loop_errors}"
        + (f" | NO_DATA={','.join(stats.no_data)}" if stats.no_data else "")
        + (" | SAFE_MODE" if stats.safe_mode else "")
        + (f" | last_error={stats.last_error[:120]}" if stats.consecutive_errors else "")
    )


def _note_missing_symbols(
    stats: DaemonStats, spec: FeedSpec, frame: pl.DataFrame, echo: Callable[[str], None]
) -> None:
    """Name the traded symbols with no stored bar at all: a typo or a symbol never
    ingested must not look like a quiet market."""
    present = set(frame["symbol"].unique().to_list()) if not frame.is_empty() else set()
    missing = tuple(sorted(set(spec.symbols) - present))
    if missing != stats.no_data:
        if missing:
            echo(
                f"NO DATA for {', '.join(missing)}: no stored {spec.interval_sec} s bars in "
                "range. Fix: ingest or collect them, or check the --tickers spelling"
            )
        stats.no_data = missing


def _log_error(errors: JsonLines, where: str, exc: BaseException) -> None:
    errors.write(
        {
            "ts": iso_from_ns(time.time_ns()),
            "where": where,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc)),
        }
    )
