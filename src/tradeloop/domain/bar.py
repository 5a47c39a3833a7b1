"""Bars: the value object and the column contract of every bar frame."""

from __future__ import annotations

from typing import Final

import polars as pl

BAR_SCHEMA: Final[dict[str, pl.DataType]] = {
    "symbol": pl.String(),
    "ts": pl.Int64(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "adj_close": pl.Float64(),
    "source": pl.String(),
    "bar_interval_sec": pl.Int64(),
}
"""Columns of a bar frame, in order. ``ts`` is the bar's open time, UTC epoch ns."""

BAR_KEY: Final[tuple[str, ...]] = ("symbol", "ts", "bar_interval_sec")
DAILY_SEC: Final[int] = 86_400


def empty_bars() -> pl.DataFrame:
    """An empty frame with the bar schema."""
    return pl.DataFrame(schema=BAR_SCHEMA)


def bar_frame(
    symbol: str,
    ts: list[int],
    columns: dict[str, list[float | None]],
    *,
    source: str,
    bar_interval_sec: int,
) -> pl.DataFrame:
    """A bar frame from parallel lists; ``columns`` holds open/high/low/close/volume and
    optionally adj_close (defaults to close). Nulls are kept for validation to judge."""
    adj = columns.get("adj_close") or columns["close"]
    return pl.DataFrame(
        {
            "symbol": [symbol] * len(ts),
            "ts": ts,
            "open": columns["open"],
            "high": columns["high"],
            "low": columns["low"],
            "close": columns["close"],
            "volume": columns["volume"],
            "adj_close": adj,
            "source": [source] * len(ts),
            "bar_interval_sec": [bar_interval_sec] * len(ts),
        },
        schema=BAR_SCHEMA,
    )
