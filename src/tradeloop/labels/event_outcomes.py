"""Matured outcomes of touch events at horizons of N bars.

For an event with ``side`` +1 (closed above the level: support) the expected move is up;
for -1 (resistance) down. With entry = the touching bar's close and d = side:

- ``return_bps``  d * (close[t+h] - entry) / entry * 1e4
- ``mfe_bps``     best favourable excursion within the h bars, bps of entry
- ``mae_bps``     worst adverse excursion within the h bars, bps of entry (>= 0)
- ``label``       ``held`` if price reached entry moved by ``hold_bps`` in direction d
                  before crossing the level by ``break_bps`` against it, ``broke`` if the
                  cross came first (or in the same bar), else ``none``
- ``bars_to_barrier`` the bar (1..h) where the first barrier was hit, else null

An event gets a label at horizon h only when h bars of the same symbol have closed at or
before ``as_of``; nothing later can change it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tradeloop.labels.config import EventLabelConfig

LABEL_SCHEMA = {
    "event_id": pl.String,
    "horizon_bars": pl.Int64,
    "return_bps": pl.Float64,
    "mfe_bps": pl.Float64,
    "mae_bps": pl.Float64,
    "label": pl.String,
    "hit_target": pl.Boolean,
    "hit_stop": pl.Boolean,
    "bars_to_barrier": pl.Int64,
    "ts_matured": pl.Int64,
}


def label_events(
    events: pl.DataFrame,
    bars: pl.DataFrame,
    config: EventLabelConfig,
    *,
    as_of_ns: int | None = None,
) -> pl.DataFrame:
    """Labels for every (event, horizon) that has matured; ``LABEL_SCHEMA`` columns."""
    if events.is_empty() or bars.is_empty():
        return pl.DataFrame(schema=LABEL_SCHEMA)
    ordered = bars.sort("symbol", "ts").with_columns(
        (pl.col("ts") + pl.col("bar_interval_sec") * 1_000_000_000).alias("ts_close")
    )
    high, low = ordered["high"].to_numpy(), ordered["low"].to_numpy()
    close, ts_close = ordered["close"].to_numpy(), ordered["ts_close"].to_numpy()
    symbols = ordered["symbol"].to_numpy()
    block_end = _block_ends(symbols)
    located = events.join(
        ordered.with_row_index("row").select("symbol", "ts_close", "row"),
        left_on=["symbol", "ts_event"],
        right_on=["symbol", "ts_close"],
        how="inner",
    )
    rows = located["row"].to_numpy().astype(np.int64)
    entry = located["touch_price"].to_numpy()
    level = located["level_price"].to_numpy()
    side = located["side"].to_numpy()
    ids = located["event_id"].to_numpy()
    frames = []
    for horizon in config.horizons_bars:
        offsets = np.arange(1, horizon + 1)
        window = rows[:, None] + offsets[None, :]
        last = rows + horizon
        matured = last <= block_end[rows]
        if as_of_ns is not None:
            matured &= ts_close[np.minimum(last, close.size - 1)] <= as_of_ns
        if not matured.any():
            continue
        w = window[matured]
        d, e, lv = side[matured], entry[matured], level[matured]
        up = (high[w] - e[:, None]) / e[:, None] * 1e4
        down = (low[w] - e[:, None]) / e[:, None] * 1e4
        favourable = np.where(d[:, None] > 0, up, -down)
        adverse = np.where(d[:, None] > 0, -down, up)
        target_hit = favourable >= config.hold_bps
        stop_price = lv * (1 - d * config.break_bps / 1e4)
        stop_hit = np.where(
            d[:, None] > 0, low[w] <= stop_price[:, None], high[w] >= stop_price[:, None]
        )
        first_target = np.where(target_hit.any(1), target_hit.argmax(1), horizon)
        first_stop = np.where(stop_hit.any(1), stop_hit.argmax(1), horizon)
        broke = first_stop <= first_target
        held = ~broke & (first_target < horizon)
        broke &= first_stop < horizon
        first = np.minimum(first_target, first_stop)
        frames.append(
            pl.DataFrame(
                {
                    "event_id": ids[matured],
                    "horizon_bars": np.full(w.shape[0], horizon, dtype=np.int64),
                    "return_bps": d * (close[last[matured]] - e) / e * 1e4,
                    "mfe_bps": np.maximum(favourable.max(1), 0.0),
                    "mae_bps": np.maximum(adverse.max(1), 0.0),
                    "label": np.where(held, "held", np.where(broke, "broke", "none")),
                    "hit_target": held,
                    "hit_stop": broke,
                    "bars_to_barrier": np.where(held | broke, first + 1, -1),
                    "ts_matured": ts_close[last[matured]],
                },
                schema=LABEL_SCHEMA,
            ).with_columns(
                pl.when(pl.col("bars_to_barrier") > 0)
                .then(pl.col("bars_to_barrier"))
                .otherwise(None)
                .alias("bars_to_barrier")
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=LABEL_SCHEMA)


def _block_ends(symbols: np.ndarray) -> np.ndarray:
    """For each row, the index of the last row of its symbol's block."""
    n = symbols.size
    boundaries = np.flatnonzero(np.r_[symbols[1:] != symbols[:-1], True])
    counts = np.diff(np.r_[-1, boundaries])
    return np.repeat(boundaries, counts) if n else np.empty(0, dtype=np.int64)
