"""The ``replay`` provider: a recorded bar stream played forward on a clock.

Replay time starts at ``start_ns`` when the provider is created and advances ``speed``
times faster than the clock (``--speed 600``: ten minutes of market per second). A fetch
returns only bars that have closed by replay time, so a collector polling it sees the
market unfold exactly as it would live.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tradeloop.core.time import NS_PER_SECOND
from tradeloop.data.ports import BarRequest
from tradeloop.domain.bar import empty_bars


class ReplayProvider:
    name = "replay"

    def __init__(
        self,
        bars: pl.DataFrame,
        *,
        start_ns: int,
        speed: float,
        clock_ns: Callable[[], int],
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._bars = bars.sort("symbol", "ts")
        self._start_ns = start_ns
        self._speed = speed
        self._clock_ns = clock_ns
        self._origin_ns = clock_ns()

    def now_ns(self) -> int:
        """The replayed market's current time."""
        return self._start_ns + int((self._clock_ns() - self._origin_ns) * self._speed)

    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(set(self._bars["symbol"].to_list())))

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        now = self.now_ns()
        bars = self._bars.filter(
            (pl.col("symbol") == request.symbol)
            & (pl.col("bar_interval_sec") == request.bar_interval_sec)
            & (pl.col("ts") >= request.start_ns)
            & (pl.col("ts") < request.end_ns)
            & (pl.col("ts") + pl.col("bar_interval_sec") * NS_PER_SECOND <= now)
        )
        return bars if bars.height else empty_bars()
