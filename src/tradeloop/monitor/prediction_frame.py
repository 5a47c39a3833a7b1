"""The columns of matured predictions, as the daily ML report reads them."""

from __future__ import annotations

import polars as pl

PREDICTION_SCHEMA = {
    "event_id": pl.String,
    "symbol": pl.String,
    "level_type": pl.String,
    "ts_event": pl.Int64,
    "target": pl.String,
    "horizon": pl.Int64,
    "score": pl.Float64,
    "label": pl.String,
}
