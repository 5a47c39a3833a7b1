"""Clocks: the only thing besides the feed and the venue that differs between modes."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of the current time in epoch nanoseconds."""

    def now_ns(self) -> int:
        """Return the current time in UTC epoch nanoseconds."""
        ...


class WallClock:
    """The real time of this machine."""

    def now_ns(self) -> int:
        return time.time_ns()


class SimClock:
    """A clock that moves only when the simulation advances it; it never goes back."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        return self._now_ns

    def advance_to(self, ts_ns: int) -> None:
        """Move the clock forward to ``ts_ns``; moving backwards is an error."""
        if ts_ns < self._now_ns:
            raise ValueError(f"SimClock cannot go back from {self._now_ns} to {ts_ns}")
        self._now_ns = ts_ns
