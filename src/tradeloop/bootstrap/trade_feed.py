"""``tradeloop run --mode paper|simulate|live`` composed: the account opened and
reconciled (paper, live) or an in-memory one (simulate), the stepper that records what it
did, and the feed of stored bars on the wall clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.bootstrap.trading import open_trading_account
from tradeloop.core.errors import ConfigError
from tradeloop.core.ids import new_run_id
from tradeloop.core.time import iso_from_ns
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.kernel import Cursor, TradingKernel
from tradeloop.execution.session import TradingSession
from tradeloop.usecases.paper_run import DecisionLog, FeedSpec, LiveStats, run_feed
from tradeloop.usecases.paper_trading import (
    account_kernel,
)
from tradeloop.usecases.strategy_plans import StrategyPlan


@dataclass(frozen=True, slots=True)
class FeedRequest:
    plan: StrategyPlan
    execution: ExecutionConfig
    spec: FeedSpec
    mode: str  # paper, simulate or live
    account: str
    venue: Any = None  # the live venue (live mode)


@dataclass(slots=True)
class OpenFeed:
    """A feed ready to run: what to print first, and the kernel it drives."""

    banner: list[str]
    kernel: TradingKernel
    stats: LiveStats
    run_id: str
    plan: StrategyPlan
    spec: FeedSpec
    load: Callable[[tuple[str, ...], int, int, int], Any]
    should_stop: Callable[[], bool]

    @property
    def session(self) -> TradingSession:
        return self.kernel.session

    def run(self) -> Cursor | None:
        """Step the feed's bars until it ends or ``should_stop``; the last cursor."""
        return run_feed(self.kernel, self.plan, self.spec, self.load, should_stop=self.should_stop)


def open_feed(
    app: App,
    request: FeedRequest,
    *,
    on_step: Callable[[Any, Any], None],
    should_stop: Callable[[], bool],
) -> OpenFeed:
    """Refuses (an account that does not reconcile) before anything trades."""
    store = app.ingest_store()

    def load(symbols: tuple[str, ...], seconds: int, start_ns: int, end_ns: int) -> Any:
        return store.load_bars_many(list(symbols), seconds, start_ns, end_ns)

    _require_bars(load, request.spec)
    stats = LiveStats()
    kill_switch = app.kill_switch()
    plan, mode = request.plan, request.mode
    if mode == "simulate":
        run_id = new_run_id("simulate")
        engine = simulated_engine(request.execution, app.config.risk, kill_switch)
        log_path = app.settings.logs_dir / "simulate.jsonl"
        kernel = TradingKernel(
            TradingSession(engine, plan.strategy, run_id),
            listeners=[DecisionLog(log_path), stats.record, on_step],
        )
        symbols = ",".join(request.spec.symbols)
        banner = [f"simulate: deciding on {symbols}; decisions -> {log_path}"]
        return OpenFeed(banner, kernel, stats, run_id, plan, request.spec, load, should_stop)
    account, opened = open_trading_account(
        app, request.account, plan.strategy, request.execution, request.venue
    )
    cursor = iso_from_ns(opened.cursor[0]) if opened.cursor else "new"
    banner = [f"reconciled: {line}" for line in opened.reconciliation.corrections]
    banner.append(
        f"{mode}: trading account {account.name} (cursor {cursor}, "
        f"{opened.settled} in-flight orders settled)"
    )
    kernel = account_kernel(opened, account, app.paper_stores(), [stats.record, on_step])
    return OpenFeed(banner, kernel, stats, account.run_id, plan, request.spec, load, should_stop)


def _require_bars(load: Callable[[tuple[str, ...], int, int, int], Any], spec: FeedSpec) -> None:
    """A replay or a run-once with no stored bar at all has nothing to trade: refuse before
    an account is opened (or created) for it."""
    if spec.feed == "live" and not spec.run_once:
        return  # a live feed waits for the bars ingestion or the collector store
    end = spec.end_ns if spec.end_ns is not None else time.time_ns()
    if load(spec.symbols, spec.interval_sec, spec.start_ns, end).is_empty():
        raise ConfigError(
            f"no stored {spec.interval_sec} s bars of {', '.join(spec.symbols)} from "
            f"{iso_from_ns(spec.start_ns)}: nothing to trade. Fix: tradeloop ingest (daily "
            "bars) or tradeloop collect (intraday) first"
        )
