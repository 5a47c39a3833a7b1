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
from tradeloop.features.event_schema import EVENT_COLUMNS as EVENT_COLUMNS
from tradeloop.features.event_schema import EVENT_FEATURES as EVENT_FEATURES
from tradeloop.features.event_schema import EVENT_SCHEMA as EVENT_SCHEMA
from tradeloop.features.event_schema import empty_events as empty_events
from tradeloop.features.kernels import bar_state, scan_touches
from tradeloop.features.pivots import (
    LEVEL_TYPES,
    OPENING_RANGE_LEVELS,
    session_levels,
    with_sessions,
)


def _boundaries(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    flags = frame.select(
        (pl.col("symbol") != pl.col("symbol").shift(1)).fill_null(True).alias("symbol"),
        (
            (pl.col("symbol") != pl.col("symbol").shift(1))
            | (pl.col("session") != pl.col("session").shift(1))
        )
        .fill_null(True)
        .alias("session"),
    )
    return flags["symbol"].to_numpy(), flags["session"].to_numpy()


def bar_features(bars: pl.DataFrame) -> pl.DataFrame:
    """Per-bar inputs of event features (bars with ``session``); each row uses only bars
    up to its own close. Computed in one compiled pass (:mod:`tradeloop.features.kernels`)."""
    frame = bars.sort("symbol", "ts")
    symbol_start, session_start = _boundaries(frame)
    state = bar_state(
        symbol_start,
        session_start,
        frame["ts"].to_numpy(),
        *(frame[c].to_numpy().astype(np.float64) for c in ("high", "low", "close", "volume")),
    )
    names = (
        "atr_bps",
        "rsi_14",
        "volume_z_20",
        "session_high",
        "session_low",
        "session_first_ts",
        "trend_slope_bps",
    )
    return frame.with_columns(
        pl.Series(name, values, nan_to_null=True) for name, values in zip(names, state, strict=True)
    )


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
    keys = events.select(key.cast(pl.Binary)).to_series().to_list()
    # The first 8 bytes as hex == the first 16 hex digits, without formatting all 64.
    return [hashlib.sha256(k).digest()[:8].hex() for k in keys]


def detect_touch_events(bars: pl.DataFrame, config: PivotConfig) -> pl.DataFrame:
    """Every touch event in ``bars`` (intraday, one interval per symbol) with its features.

    Returns ``EVENT_COLUMNS`` plus ``EVENT_SCHEMA.names``, sorted by symbol and ts_event.
    """
    if bars.is_empty():
        return empty_events()
    sessions = with_sessions(bars, config)
    sessions = sessions.sort("symbol", "ts")
    levels = session_levels(sessions, config)
    symbol_start, session_start = _boundaries(sessions)
    session_index = np.cumsum(session_start) - 1
    ts = sessions["ts"].to_numpy()
    high, low, close, volume = (
        sessions[c].to_numpy().astype(np.float64) for c in ("high", "low", "close", "volume")
    )
    atr, rsi, volume_z, session_high, session_low, session_first, slope = bar_state(
        symbol_start, session_start, ts, high, low, close, volume
    )
    matrix = np.ascontiguousarray(levels.select(LEVEL_TYPES).to_numpy(), dtype=np.float64)
    if matrix.shape[0] != session_index[-1] + 1:
        raise ValueError("levels and bars disagree on the sessions")  # an invariant, not input
    or_end = levels["or_end"].fill_null(np.iinfo(np.int64).max).to_numpy()
    opening = np.array([t in OPENING_RANGE_LEVELS for t in LEVEL_TYPES])
    rows, ranks, touches = scan_touches(
        session_start,
        session_index,
        ts,
        high,
        low,
        matrix,
        or_end,
        opening,
        config.touch_tolerance_bps / 1e4,
    )
    if rows.size == 0:
        return empty_events()
    s = session_index[rows]
    level_price = np.round(matrix[s, ranks], 6)
    level_of = {
        name: levels[name].to_numpy().astype(np.float64)
        for name in ("s_open", "pc", "PDH", "PDL", "PDC")
    }
    touch_close = close[rows]
    ts_event = sessions["ts_close"].to_numpy()[rows]
    span = session_high[rows] - session_low[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        features = {
            "distance_bps": (touch_close - level_price) / level_price * 1e4,
            "side": np.where(touch_close >= level_price, 1.0, -1.0),
            "atr_bps": atr[rows],
            "rsi_14": rsi[rows],
            "range_position": np.where(span > 0, (touch_close - session_low[rows]) / span, np.nan),
            "volume_z_20": volume_z[rows],
            "minutes_since_open": (ts_event - session_first[rows]) / 60e9,
            "gap_bps": (level_of["s_open"][s] - level_of["pc"][s]) / level_of["pc"][s] * 1e4,
            "trend_slope_bps": slope[rows],
            "touches_today": touches.astype(np.float64),
            "prior_range_bps": (level_of["PDH"][s] - level_of["PDL"][s]) / level_of["PDC"][s] * 1e4,
            "level_rank": ranks.astype(np.float64),
        }
    picked = sessions.select("symbol", "bar_interval_sec", "session").gather(rows)
    events = pl.DataFrame(
        {
            "symbol": picked["symbol"],
            "ts_event": ts_event,
            "level_type": np.array(LEVEL_TYPES)[ranks],
            "level_price": level_price,
            "bar_interval_sec": picked["bar_interval_sec"],
            "touch_price": touch_close,
            "session": picked["session"],
            **{
                name: pl.Series(name, values, nan_to_null=True) for name, values in features.items()
            },
        }
    )
    events = events.with_columns(pl.Series("event_id", event_ids(events), dtype=pl.String))
    return events.select(*EVENT_COLUMNS, *EVENT_SCHEMA.names)
