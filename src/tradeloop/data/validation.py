"""Validation of bar frames at the boundary: reject bad data with a precise message."""

from __future__ import annotations

import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.domain.bar import BAR_SCHEMA


def validate_bars(bars: pl.DataFrame, source: str) -> pl.DataFrame:
    """Check schema, key uniqueness, ordering and OHLC sanity; return bars in schema order.

    Raises
    ------
    DataError
        Naming ``source``, the field, the first offending row and the fix.
    """
    missing = [name for name in BAR_SCHEMA if name not in bars.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}; expected {list(BAR_SCHEMA)}. "
            "Fix: supply every bar column."
        )
    try:
        bars = bars.select([pl.col(name).cast(dtype) for name, dtype in BAR_SCHEMA.items()])
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{source}: a column has the wrong type ({exc}).") from None
    if bars.is_empty():
        return bars
    for name in ("symbol", "ts", "open", "high", "low", "close", "volume", "bar_interval_sec"):
        nulls = bars[name].null_count()
        if nulls:
            raise DataError(f"{source}: column {name!r} has {nulls} null value(s).")
    prices = ("open", "high", "low", "close")
    finite = pl.all_horizontal([pl.col(c).is_finite() for c in (*prices, "volume")])
    bad = bars.filter(~finite)
    if bad.height:
        raise DataError(
            f"{source}: {bad.height} row(s) with NaN/Infinity, first at ts={bad['ts'][0]} "
            f"({bad['symbol'][0]}). Fix: repair or drop those rows at the source."
        )
    checks = {
        "non-positive price": pl.min_horizontal([pl.col(c) for c in prices]) <= 0,
        "negative volume": pl.col("volume") < 0,
        "high below open/close/low": pl.col("high")
        < pl.max_horizontal(pl.col("open"), pl.col("close"), pl.col("low")),
        "low above open/close": pl.col("low") > pl.min_horizontal(pl.col("open"), pl.col("close")),
    }
    for what, condition in checks.items():
        bad = bars.filter(condition)
        if bad.height:
            row = bad.row(0, named=True)
            raise DataError(
                f"{source}: {bad.height} row(s) with {what}, first {row['symbol']} at "
                f"ts={row['ts']} (open={row['open']}, high={row['high']}, low={row['low']}, "
                f"close={row['close']}, volume={row['volume']}). Fix: correct the source data."
            )
    dupes = bars.filter(pl.struct("symbol", "ts", "bar_interval_sec").is_duplicated())
    if dupes.height:
        raise DataError(
            f"{source}: {dupes.height} rows share a (symbol, ts, bar_interval_sec) key, "
            f"first ts={dupes['ts'][0]}. Fix: de-duplicate the source."
        )
    return bars.sort("symbol", "bar_interval_sec", "ts")


def as_of(frame: pl.DataFrame, as_of_ns: int | None, column: str = "ts") -> pl.DataFrame:
    """Rows known at ``as_of_ns`` (``column <= as_of_ns``); all rows when None."""
    if as_of_ns is None:
        return frame
    return frame.filter(pl.col(column) <= as_of_ns)
