"""The touch events' columns and feature schema, apart from their detection so that
reading or storing events never loads the compiled detectors."""

from __future__ import annotations

import polars as pl

from tradeloop.features.schema import FeatureSchema

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

EVENT_COLUMNS = (
    "event_id",
    "symbol",
    "ts_event",
    "level_type",
    "level_price",
    "bar_interval_sec",
    "touch_price",
    "session",
)


def empty_events() -> pl.DataFrame:
    """An event frame with no rows."""
    schema: dict[str, pl.DataType] = {
        "event_id": pl.String(),
        "symbol": pl.String(),
        "ts_event": pl.Int64(),
        "level_type": pl.String(),
        "level_price": pl.Float64(),
        "bar_interval_sec": pl.Int64(),
        "touch_price": pl.Float64(),
        "session": pl.Date(),
    }
    return pl.DataFrame(schema={**schema, **dict.fromkeys(EVENT_SCHEMA.names, pl.Float64())})
