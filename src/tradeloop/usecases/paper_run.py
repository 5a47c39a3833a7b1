"""``tradeloop run --mode paper|simulate``: a strategy on a feed of stored bars, on the wall
clock, through the one order path.

Feeds: ``replay`` steps the stored bars from ``--start`` (paced by ``replay_speed`` bars per
second, 0 = as fast as possible) and stops at their end; ``live`` waits for bars that
ingestion or the collector store, stepping each once it has closed, polling every
``poll_seconds`` until stopped. Paper keeps its account (``paper_trading``); simulate
decides, checks risk and logs every decision to ``var/logs/simulate.jsonl`` on an
in-memory venue, sending nothing anywhere and writing no order or fill.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from tradeloop.core.errors import ConfigError
from tradeloop.core.time import iso_from_ns
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.session import StepResult, TradingSession, bar_views
from tradeloop.usecases.paper_trading import (
    Cursor,
    PaperAccount,
    PaperStart,
    PaperStores,
    trade_bars,
)
from tradeloop.usecases.strategy_plans import StrategyPlan

Feed = Literal["replay", "live"]


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """Which stored bars, and how they arrive."""

    symbols: tuple[str, ...]
    interval_sec: int
    start_ns: int
    end_ns: int | None
    feed: Feed = "replay"
    replay_speed: float = 0.0
    poll_seconds: float = 30.0
    run_once: bool = False

    def __post_init__(self) -> None:
        if self.feed not in ("replay", "live"):
            raise ConfigError(f"--feed {self.feed!r}: use replay or live")
        if self.replay_speed < 0 or self.poll_seconds <= 0:
            raise ConfigError("--replay-speed must be >= 0 and --poll-seconds > 0")


@dataclass(slots=True)
class LiveStats:
    """What a paper or simulate run did, for the summary and --json."""

    bars: int = 0
    orders_sent: int = 0
    orders_denied: int = 0
    fills: int = 0
    last_bar_ts: int | None = None
    equity: list[tuple[int, float]] = field(default_factory=list)

    def record(self, bar: BarView, step: StepResult) -> None:
        self.bars += 1
        self.fills += step.fills
        self.orders_sent += sum(1 for d in step.decisions if d.sent)
        self.orders_denied += sum(1 for d in step.decisions if not d.sent)
        self.last_bar_ts = bar.ts
        if self.equity and self.equity[-1][0] == bar.ts:
            self.equity[-1] = (bar.ts, float(step.equity))
        else:
            self.equity.append((bar.ts, float(step.equity)))


BarLoader = Callable[[tuple[str, ...], int, int, int], pl.DataFrame]


def feed_frame(load: BarLoader, spec: FeedSpec, now_ns: int) -> pl.DataFrame:
    """The stored bars the feed offers now: a live feed only those that have closed."""
    end = spec.end_ns if spec.end_ns is not None else now_ns
    bars = load(spec.symbols, spec.interval_sec, spec.start_ns, end)
    if spec.feed == "live":
        bars = bars.filter(pl.col("ts") + spec.interval_sec * 1_000_000_000 <= now_ns)
    return bars


def _paced(bars: Iterator[BarView], cursor: Cursor | None, speed: float) -> Iterator[BarView]:
    for bar in bars:
        if speed > 0 and (cursor is None or (bar.ts, bar.symbol) > cursor):
            time.sleep(1.0 / speed)
        yield bar


StepBars = Callable[[Cursor | None, Iterator[BarView]], Cursor | None]


def run_live_feed(
    cursor: Cursor | None,
    plan: StrategyPlan,
    spec: FeedSpec,
    load: BarLoader,
    *,
    step_bars: StepBars,
    should_stop: Callable[[], bool],
    now_ns: Callable[[], int] = time.time_ns,
    sleep: Callable[[float], None] = time.sleep,
) -> Cursor | None:
    """Offer the feed's bars to ``step_bars`` until the feed ends or ``should_stop``."""
    while True:
        frame = feed_frame(load, spec, now_ns())
        if spec.feed == "live" and cursor is None and not frame.is_empty():
            # A new live account trades from the next bar on; history only warms it up.
            last = frame.sort("ts", "symbol").row(-1, named=True)
            cursor = (last["ts"], last["symbol"])
        if not frame.is_empty():
            prepared = plan.prepare(frame)
            views = _paced(bar_views(prepared, plan.columns), cursor, spec.replay_speed)
            cursor = step_bars(cursor, views) or cursor
        if spec.run_once or spec.feed == "replay" or should_stop():
            return cursor
        waited = 0.0
        while waited < spec.poll_seconds and not should_stop():
            sleep(min(1.0, spec.poll_seconds - waited))
            waited += 1.0
        if should_stop():
            return cursor


def paper_stepper(
    start: PaperStart,
    account: PaperAccount,
    stores: PaperStores,
    stats: LiveStats,
    on_step: Callable[[BarView, StepResult], None] | None,
    should_stop: Callable[[], bool],
) -> StepBars:
    def record(bar: BarView, step: StepResult) -> None:
        stats.record(bar, step)
        if on_step is not None:
            on_step(bar, step)

    state = {"start": start}

    def step_bars(cursor: Cursor | None, bars: Iterator[BarView]) -> Cursor | None:
        # The first call rebuilds strategy state from bars up to the cursor; later calls
        # (a live feed's polls) see those bars again and skip them.
        current = dataclasses.replace(state["start"], cursor=cursor)
        done = trade_bars(
            current,
            account,
            bars,
            stores=stores,
            on_step=record,
            should_stop=should_stop,
            warm_up=state["start"] is start,
        )
        state["start"] = current
        return done

    return step_bars


def simulate_stepper(
    session: TradingSession,
    log_path: Path,
    stats: LiveStats,
    on_step: Callable[[BarView, StepResult], None] | None,
    should_stop: Callable[[], bool],
) -> StepBars:
    """Steps bars on an in-memory account; every decision and risk verdict is a JSON line."""
    processed: list[Cursor | None] = [None]

    def step_bars(cursor: Cursor | None, bars: Iterator[BarView]) -> Cursor | None:
        cursor = processed[0] or cursor
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as log:
            for bar in bars:
                key = (bar.ts, bar.symbol)
                if cursor is not None and key <= cursor:
                    if processed[0] is None:
                        session.warm_up(bar)
                    continue
                if should_stop():
                    break
                step = session.step(bar)
                for decision in step.decisions:
                    order = decision.order
                    log.write(
                        json.dumps(
                            {
                                "ts": iso_from_ns(bar.ts),
                                "symbol": order.symbol,
                                "side": str(order.side),
                                "quantity": str(order.quantity),
                                "reason": order.reason,
                                "client_order_id": order.client_order_id,
                                "risk": "approved" if decision.sent else decision.denial,
                                "sent_to_venue": False,
                            }
                        )
                        + "\n"
                    )
                stats.record(bar, step)
                if on_step is not None:
                    on_step(bar, step)
                cursor = key
            log.flush()
        processed[0] = cursor
        return cursor

    return step_bars
