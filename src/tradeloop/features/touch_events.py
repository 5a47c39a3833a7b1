"""Touch events: a bar reaching a pivot level, with features known at that moment.

A *touch* is the first bar of a run of bars that come within ``touch_tolerance_bps`` of a
level (``low <= level*(1+tol)`` and ``high >= level*(1-tol)``); price must leave the band
before the level can be touched again. ``ts_event`` is the touching bar's close time, and
every feature uses bars that closed at or before it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from tradeloop.features.config import PivotConfig
from tradeloop.features.pivots import (
    LEVEL_TYPES,
    OPENING_RANGE_LEVELS,
    session_levels,
    with_sessions,
)
from tradeloop.features.schema import FeatureSchema

TREND_BARS = 10
_TREND_WEIGHTS = (np.arange(TREND_BARS) - (TREND_BARS - 1) / 2) / np.sum(
    (np.arange(TREND_BARS) - (TREND_BARS - 1) / 2) ** 2
)

EVENT_FEATURES: dict[str, str] = {
    "distance_bps": "(close - level) / level * 1e4 at the touching bar",
    "side": "+1 when the bar closed above the level, -1 below",
    "atr_bps": "Wilder ATR(14) of the bars / close * 1e4",
    "rsi_14": "Wilder RSI(14) of the closes",
    "range_position": "(close - session low so far) / (session high - low so far)",
    "volume_z_20": "z-score of volume over the last 20 bars",
    "minutes_since_open": "minutes from the session's first bar to ts_event",
    "gap_bps": "(session open - prior close) / prior close * 1e4",
    "trend_slope_bps": "least-squares slope of the last 10 closes, bps of close per bar",
    "touches_today": "earlier touches of this level in this session",
    "prior_range_bps": "(prior high - prior low) / prior close * 1e4",
    "level_rank": "index of the level type in LEVEL_TYPES",
}
EVENT_SCHEMA = FeatureSchema(
    version="pivot-events-1",
    names=tuple(EVENT_FEATURES),
    definitions=tuple(EVENT_FEATURES.values()),
)

EVENT_COLUMNS = ("event_id", "symbol", "ts_event", "level_type", "level_price",
                 "bar_interval_sec", "touch_price", "session")  # fmt: skip


def empty_events() -> pl.DataFrame:
    """An event frame with no rows."""
    schema: dict[str, pl.DataType] = {
        "event_id": pl.String(), "symbol": pl.String(), "ts_event": pl.Int64(),
        "level_type": pl.String(), "level_price": pl.Float64(), "bar_interval_sec": pl.Int64(),
        "touch_price": pl.Float64(), "session": pl.Date(),
    }  # fmt: skip
    return pl.DataFrame(schema={**schema, **dict.fromkeys(EVENT_SCHEMA.names, pl.Float64())})


def _wilder(expr: pl.Expr) -> pl.Expr:
    return expr.ewm_mean(alpha=1 / 14, adjust=False)


def bar_features(bars: pl.DataFrame) -> pl.DataFrame:
    """Per-bar inputs of event features; each row uses only bars up to its own close."""
    ordered = bars.sort("symbol", "ts")
    prev_close = pl.col("close").shift(1).over("symbol")
    true_range = pl.max_horizontal(
        pl.col("high") - pl.col("low"),
        (pl.col("high") - prev_close).abs(),
        (pl.col("low") - prev_close).abs(),
    )
    change = pl.col("close").diff().over("symbol")
    gain = _wilder(change.clip(lower_bound=0)).over("symbol")
    loss = _wilder((-change).clip(lower_bound=0)).over("symbol")
    volume_mean = pl.col("volume").rolling_mean(20).over("symbol")
    volume_std = pl.col("volume").rolling_std(20).over("symbol")
    frame = ordered.with_columns(
        (_wilder(true_range).over("symbol") / pl.col("close") * 1e4).alias("atr_bps"),
        (100 - 100 / (1 + gain / loss)).alias("rsi_14"),
        ((pl.col("volume") - volume_mean) / volume_std).alias("volume_z_20"),
        pl.col("high").cum_max().over("symbol", "session").alias("session_high"),
        pl.col("low").cum_min().over("symbol", "session").alias("session_low"),
        pl.col("ts").first().over("symbol", "session").alias("session_first_ts"),
    )
    closes = frame["close"].to_numpy()
    symbols = frame["symbol"].to_numpy()
    slope = np.full(closes.size, np.nan)
    starts = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], closes.size], strict=True):
        block = closes[start:stop]
        if block.size >= TREND_BARS:
            fitted = np.convolve(block, _TREND_WEIGHTS[::-1], mode="valid")
            slope[start + TREND_BARS - 1 : stop] = fitted / block[TREND_BARS - 1 :] * 1e4
    return frame.with_columns(pl.Series("trend_slope_bps", slope).fill_nan(None))


def event_ids(events: pl.DataFrame) -> list[str]:
    """``sha256(natural key)[:16]``; the key is ``symbol|ts_event|level_type|level price in
    micro-units|bar_interval_sec``, so ids match across runs and machines."""
    key = pl.concat_str(
        pl.col("symbol"),
        pl.col("ts_event"),
        pl.col("level_type"),
        (pl.col("level_price") * 1e6).round().cast(pl.Int64),
        pl.col("bar_interval_sec"),
        separator="|",
    )
    keys = events.select(key).to_series().to_list()
    return [hashlib.sha256(k.encode()).hexdigest()[:16] for k in keys]


def detect_touch_events(bars: pl.DataFrame, config: PivotConfig) -> pl.DataFrame:
    """Every touch event in ``bars`` (intraday, one interval per symbol) with its features.

    Returns ``EVENT_COLUMNS`` plus ``EVENT_SCHEMA.names``, sorted by symbol and ts_event.
    """
    if bars.is_empty():
        return empty_events()
    sessions = with_sessions(bars, config)
    levels = session_levels(sessions, config)
    # bar_features sorts by symbol and ts; the left join keeps that order.
    frame = bar_features(sessions).join(
        levels, on=["symbol", "session"], how="left", maintain_order="left"
    )
    low, high = frame["low"].to_numpy(), frame["high"].to_numpy()
    flags = frame.select(
        (
            (pl.col("symbol") != pl.col("symbol").shift(1))
            | (pl.col("session") != pl.col("session").shift(1))
        ).fill_null(True).alias("new_block"),
        (pl.col("ts") >= pl.col("or_end")).fill_null(False).alias("after_or"),
    )  # fmt: skip
    new_block, after_or = flags["new_block"].to_numpy(), flags["after_or"].to_numpy()
    tolerance = config.touch_tolerance_bps / 1e4
    parts = []
    for rank, level_type in enumerate(LEVEL_TYPES):
        level = frame[level_type].to_numpy().astype(float)
        valid = ~np.isnan(level)
        if level_type in OPENING_RANGE_LEVELS:
            valid &= after_or
        touching = valid & (low <= level * (1 + tolerance)) & (high >= level * (1 - tolerance))
        previous = np.r_[False, touching[:-1]] & ~new_block
        starts = touching & ~previous
        index = np.flatnonzero(starts)
        if index.size == 0:
            continue
        touched = {
            "row": index,
            "level_type": [level_type] * index.size,
            "level_price": np.round(level[index], 6),
            "level_rank": np.full(index.size, rank, dtype=np.int64),
        }
        parts.append(pl.DataFrame(touched))
    if not parts:
        return empty_events()
    touches = pl.concat(parts)
    # Gather the touching rows by position: far cheaper than joining a million-row frame.
    rows = frame.gather(touches["row"]).hstack(touches.drop("row"))
    events = rows.with_columns(
        pl.col("ts_close").alias("ts_event"),
        pl.col("close").alias("touch_price"),
        ((pl.col("close") - pl.col("level_price")) / pl.col("level_price") * 1e4).alias(
            "distance_bps"
        ),
        pl.when(pl.col("close") >= pl.col("level_price")).then(1).otherwise(-1).alias("side"),
        (
            (pl.col("close") - pl.col("session_low"))
            / (pl.col("session_high") - pl.col("session_low"))
        ).alias("range_position"),
        ((pl.col("ts_close") - pl.col("session_first_ts")) / 60e9).alias("minutes_since_open"),
        ((pl.col("s_open") - pl.col("pc")) / pl.col("pc") * 1e4).alias("gap_bps"),
        ((pl.col("PDH") - pl.col("PDL")) / pl.col("PDC") * 1e4).alias("prior_range_bps"),
    ).sort("symbol", "ts_event", "level_rank")
    events = events.with_columns(
        pl.int_range(pl.len()).over("symbol", "session", "level_type").alias("touches_today")
    )
    events = events.with_columns(pl.Series("event_id", event_ids(events), dtype=pl.String))
    features = [pl.col(name).cast(pl.Float64).fill_nan(None) for name in EVENT_SCHEMA.names]
    return events.select(*EVENT_COLUMNS, *features)
