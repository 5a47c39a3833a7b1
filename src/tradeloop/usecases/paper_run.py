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
from tradeloop.execution.kernel import Cursor, Pacer, TradingKernel
from tradeloop.execution.session import StepResult, bar_views
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


def latest(frame: pl.DataFrame) -> Cursor:
    """The cursor of the newest bar of ``frame``."""
    last = frame.sort("ts", "symbol").row(-1, named=True)
    return (last["ts"], last["symbol"])


def run_feed(
    kernel: TradingKernel,
    plan: StrategyPlan,
    spec: FeedSpec,
    load: BarLoader,
    *,
    should_stop: Callable[[], bool],
    now_ns: Callable[[], int] = time.time_ns,
    pacer: Pacer | None = None,
) -> Cursor | None:
    """The kernel on the wall clock, offered the feed's bars every ``poll_seconds`` until
    the feed ends (a replay, ``run_once``) or ``should_stop``. Returns the last cursor."""

    def tick() -> None:
        frame = feed_frame(load, spec, now_ns())
        if frame.is_empty():
            return
        if spec.feed == "live" and kernel.cursor is None:
            kernel.start_at(latest(frame))  # a new live account: history only warms it up
        prepared = plan.prepare(frame)
        views = _paced(bar_views(prepared, plan.columns), kernel.cursor, spec.replay_speed)
        kernel.advance(views, should_stop)

    once = spec.run_once or spec.feed == "replay"
    kernel.run(tick, every_s=spec.poll_seconds, should_stop=should_stop, pacer=pacer, once=once)
    return kernel.cursor


class DecisionLog:
    """Simulate's listener: every decision and its risk verdict, one JSON line each in
    ``path`` (nothing is sent to a venue)."""

    def __init__(self, path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.clock = clock

    def __call__(self, bar: BarView, step: StepResult) -> None:
        if not step.decisions:
            return
        with self.path.open("a", encoding="utf-8") as log:
            for decision in step.decisions:
                order = decision.order
                record = {
                    "ts": iso_from_ns(bar.ts),
                    "symbol": order.symbol,
                    "side": str(order.side),
                    "quantity": str(order.quantity),
                    "reason": order.reason,
                    "client_order_id": order.client_order_id,
                    "risk": "approved" if decision.sent else decision.denial,
                    "sent_to_venue": False,
                    # wall time of the run: `mode promote --to live` asks for a recent one
                    "logged_at": iso_from_ns(self.clock()),
                }
                log.write(json.dumps(record) + "\n")
