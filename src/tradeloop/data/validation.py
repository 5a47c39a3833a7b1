"""Validation of bar frames at the boundary: reject bad data with a precise message."""

from __future__ import annotations

import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import iso_from_ns
from tradeloop.domain.bar import BAR_SCHEMA

BAR_SCHEMA_POLARS = pl.Schema(BAR_SCHEMA)


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
    if bars.schema != BAR_SCHEMA_POLARS:
        try:
            bars = bars.select([pl.col(name).cast(dtype) for name, dtype in BAR_SCHEMA.items()])
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"{source}: a column has the wrong type ({exc}).") from None
    if bars.is_empty():
        return bars
    prices = ("open", "high", "low", "close")
    checks: dict[str, pl.Expr] = {
        f"null {name}": pl.col(name).is_null()
        for name in ("symbol", "ts", *prices, "volume", "bar_interval_sec")
    }
    checks |= {
        "NaN/Infinity": ~pl.all_horizontal([pl.col(c).is_finite() for c in (*prices, "volume")]),
        "non-positive price": pl.min_horizontal([pl.col(c) for c in prices]) <= 0,
        "negative volume": pl.col("volume") < 0,
        "high below open/close/low": pl.col("high")
        < pl.max_horizontal(pl.col("open"), pl.col("close"), pl.col("low")),
        "low above open/close": pl.col("low") > pl.min_horizontal(pl.col("open"), pl.col("close")),
    }
    ordered = bars if _is_ordered(bars) else bars.sort("symbol", "bar_interval_sec", "ts")
    key_repeats = (
        (pl.col("ts") == pl.col("ts").shift(1))
        & (pl.col("symbol") == pl.col("symbol").shift(1))
        & (pl.col("bar_interval_sec") == pl.col("bar_interval_sec").shift(1))
    ).fill_null(False)
    # One pass counts every problem; the detailed message is built only when one is found.
    counts = ordered.select(
        *[condition.fill_null(False).sum().alias(what) for what, condition in checks.items()],
        key_repeats.sum().alias("duplicate key"),
    ).row(0, named=True)
    for what, condition in checks.items():
        if counts[what]:
            row = ordered.filter(condition.fill_null(False)).row(0, named=True)
            raise DataError(
                f"{source}: {counts[what]} row(s) with {what}, first {row['symbol']} at "
                f"ts={row['ts']} (open={row['open']}, high={row['high']}, low={row['low']}, "
                f"close={row['close']}, volume={row['volume']}). Fix: correct the source data."
            )
    if counts["duplicate key"]:
        first = ordered.filter(key_repeats)["ts"][0]
        raise DataError(
            f"{source}: {counts['duplicate key']} rows share a (symbol, ts, bar_interval_sec) "
            f"key with another, first ts={first}. Fix: de-duplicate the source."
        )
    _check_spacing(ordered, source)
    return ordered


# Daily and longer bars may sit a few hours off their nominal spacing (a session's open or
# local midnight in UTC moves with daylight saving): that much slack, and no more.
_LONG_BAR_SLACK_SEC = 4 * 3600
_DAY_SEC = 86_400


def _check_spacing(ordered: pl.DataFrame, source: str) -> None:
    """Refuse bars whose timestamps contradict their declared ``bar_interval_sec``: two bars
    closer than one interval (hourly data declared daily), or intraday bars that are never
    less than a day apart (daily data declared intraday)."""
    same = (pl.col("symbol") == pl.col("symbol").shift(1)) & (
        pl.col("bar_interval_sec") == pl.col("bar_interval_sec").shift(1)
    )
    gaps = ordered.with_columns(
        pl.when(same).then(pl.col("ts") - pl.col("ts").shift(1)).alias("gap_ns")
    ).drop_nulls("gap_ns")
    if gaps.is_empty():
        return
    seconds = pl.col("gap_ns") // 1_000_000_000
    interval = pl.col("bar_interval_sec")
    slack = pl.when(interval >= _DAY_SEC).then(_LONG_BAR_SLACK_SEC).otherwise(0)
    tight = gaps.filter(seconds < interval - slack)
    if not tight.is_empty():
        row = tight.row(0, named=True)
        found = (
            tight.filter(
                (pl.col("symbol") == row["symbol"]) & (interval == row["bar_interval_sec"])
            )
            .select(seconds.median())
            .item()
        )
        raise DataError(
            f"{source}: {row['symbol']} bars only {row['gap_ns'] // 1_000_000_000} s apart at "
            f"{iso_from_ns(row['ts'])}, but bar_interval_sec={row['bar_interval_sec']} was "
            f"declared ({tight.height} such gap(s); they look like {int(found)} s bars). Fix: "
            "declare the interval the data have, or resample them to the one declared."
        )
    summary = gaps.group_by("symbol", "bar_interval_sec").agg(
        seconds.min().alias("shortest"), pl.len().alias("gaps")
    )
    daily_like = summary.filter(
        (pl.col("bar_interval_sec") < _DAY_SEC)
        & (pl.col("gaps") >= 20)
        & (pl.col("shortest") >= _DAY_SEC - _LONG_BAR_SLACK_SEC)
    )
    if not daily_like.is_empty():
        row = daily_like.row(0, named=True)
        raise DataError(
            f"{source}: {row['symbol']} bars are never less than {row['shortest']} s apart "
            f"over {row['gaps'] + 1} bars, but bar_interval_sec={row['bar_interval_sec']} was "
            "declared: they look like daily bars. Fix: declare the interval the data have."
        )


def _is_ordered(bars: pl.DataFrame) -> bool:
    # The common case, one symbol and interval already in time order, needs no sort.
    return (
        bars["symbol"].n_unique() == 1
        and bars["bar_interval_sec"].n_unique() == 1
        and bars["ts"].is_sorted()
    )


def as_of(frame: pl.DataFrame, as_of_ns: int | None, column: str = "ts") -> pl.DataFrame:
    """Rows known at ``as_of_ns`` (``column <= as_of_ns``); all rows when None."""
    if as_of_ns is None:
        return frame
    return frame.filter(pl.col(column) <= as_of_ns)
