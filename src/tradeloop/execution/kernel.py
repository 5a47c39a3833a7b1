"""The trading kernel: the one loop that steps bars through the order path, in every mode.

NautilusTrader's idea: backtest, paper, simulate, live and the daemon are the same kernel;
what changes is the clock, where the bars come from, the venue behind the engine, and who
listens to each step (the backtest's ledger trail, a paper account's projections and
cursor, the simulate decision log, the daemon's counters). The kernel owns the session
(engine: clock, venue, order manager, risk gate, portfolio; the strategy), the cursor of
the last bar stepped, and, on a wall clock, the periodic tasks around each tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tradeloop.execution.bar_view import BarView
from tradeloop.execution.engine import TradingEngine
from tradeloop.execution.session import StepResult, TradingSession

Cursor = tuple[int, str]  # (bar ts, symbol): bars are stepped in this order
StepListener = Callable[[BarView, StepResult], None]


def _never() -> bool:
    return False


@dataclass(slots=True)
class PeriodicTask:
    """``action`` every ``every_s`` seconds of the monotonic clock (first on the first tick)."""

    every_s: float
    action: Callable[[], None]
    last: float = -1e18

    def run_if_due(self, now: float) -> None:
        if now - self.last >= self.every_s:
            self.last = now
            self.action()


@dataclass(frozen=True, slots=True)
class Pacer:
    """The clock a kernel's ticks are paced by: monotonic seconds and a sleep (a test
    passes a fake; the wall clock's are the default)."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    slice_s: float = 0.2  # the longest sleep between two looks at the stop signal


class TradingKernel:
    """A session stepped bar by bar, from a cursor on.

    ``resumable`` (paper, simulate, live, the daemon): bars at or before the cursor were
    stepped before: on the first ``advance`` they rebuild the strategy's state (warm-up,
    nothing is ordered), later they are skipped, so a feed may offer the same stored bars
    again on every poll. A backtest is not resumable: it steps every bar it is given.
    """

    def __init__(
        self,
        session: TradingSession,
        *,
        cursor: Cursor | None = None,
        listeners: Sequence[StepListener] = (),
        resumable: bool = True,
        anchor: Callable[[Cursor], None] | None = None,
    ) -> None:
        self.session = session
        self.cursor = cursor
        self.listeners = list(listeners)
        self.resumable = resumable
        self.anchor = anchor
        self._warm = resumable

    @property
    def warming(self) -> bool:
        """True until the first ``advance``: bars up to the cursor rebuild strategy state."""
        return self._warm

    def start_at(self, cursor: Cursor) -> None:
        """A new account trades from the bar after ``cursor`` (the latest stored when it
        first starts on a live feed); the bars up to it only warm its strategy up. The
        ``anchor`` keeps the start, so a restart resumes from it."""
        self.cursor = cursor
        if self.anchor is not None:
            self.anchor(cursor)

    @property
    def engine(self) -> TradingEngine:
        return self.session.engine

    def advance(
        self, bars: Iterable[BarView], should_stop: Callable[[], bool] = _never
    ) -> Cursor | None:
        """Step every new bar of ``bars`` (in order) and tell the listeners; stops early
        when ``should_stop``. Returns the cursor of the last bar stepped."""
        session, listeners, resumable = self.session, self.listeners, self.resumable
        warm, cursor = self._warm, self.cursor
        self._warm = False
        try:
            for bar in bars:
                key = (bar.ts, bar.symbol)
                if resumable and cursor is not None and key <= cursor:
                    if warm:
                        session.warm_up(bar)
                    continue
                if should_stop():
                    break
                step = session.step(bar)
                cursor = key
                for listener in listeners:
                    listener(bar, step)
        finally:
            self.cursor = cursor
        return cursor

    def run(
        self,
        tick: Callable[[], None],
        *,
        every_s: float,
        should_stop: Callable[[], bool],
        pacer: Pacer | None = None,
        before: Sequence[PeriodicTask] = (),
        after: Sequence[PeriodicTask] = (),
        once: bool = False,
    ) -> None:
        """The kernel on a clock: every ``every_s`` seconds, the tasks due ``before``,
        one ``tick`` (which offers the bars stored since the cursor to ``advance``), the
        tasks due ``after``; until ``should_stop`` (or after one tick, ``once``)."""
        pacer = pacer or Pacer()
        while not should_stop():
            started = pacer.monotonic()
            for task in before:
                task.run_if_due(started)
            tick()
            for task in after:
                task.run_if_due(started)
            if once:
                return
            remaining = every_s - (pacer.monotonic() - started)
            while remaining > 0 and not should_stop():
                pacer.sleep(min(remaining, pacer.slice_s))
                remaining -= pacer.slice_s
