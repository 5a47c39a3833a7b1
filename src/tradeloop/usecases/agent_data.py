"""The agent's sessions from stored daily bars: curve features, the curve predicted by a
registered curve model, and the 58-value market state of each session, the same code for
training, evaluation and the ``pim_agent`` strategy."""

from __future__ import annotations

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.core.time import NS_PER_DAY
from tradeloop.features.curve_features import CURVE_SCHEMA
from tradeloop.models.config import CurveConfig
from tradeloop.models.curve_model import CurveModel
from tradeloop.models.rl.market_state import FEATURE_COLUMNS, STATE_COLUMNS, session_states
from tradeloop.models.rl.trading_env import SymbolHistory
from tradeloop.usecases.curve_training import BarsOf, OptionalRows, curve_features


def weekday(ts: np.ndarray) -> np.ndarray:
    """Monday 0 .. Sunday 6 of each UTC timestamp (1970-01-01 was a Thursday)."""
    return ((ts // NS_PER_DAY) + 3) % 7


def states_for(frame: pl.DataFrame, curve: CurveModel, hold_tstat: float) -> np.ndarray:
    """States of ``frame``'s rows (curve features and ``high, low, close``)."""
    x = frame.select(CURVE_SCHEMA.names).to_numpy().astype(np.float64)
    batch = curve.predict(np.where(np.isfinite(x), x, np.nan))
    features = {c: frame[c].fill_null(0.0).to_numpy().astype(np.float64) for c in FEATURE_COLUMNS}
    bars = {c: frame[c].to_numpy().astype(np.float64) for c in ("high", "low", "close")}
    return session_states(batch, features, bars, weekday(frame["ts"].to_numpy()), hold_tstat)


def state_frame(
    bars_of: BarsOf, symbols: list[str], curve: CurveModel, config: CurveConfig,
    optional: OptionalRows, end_ns: int | None = None,
) -> pl.DataFrame:  # fmt: skip
    """``symbol, ts, open, high, low, close`` and STATE_COLUMNS for every session with
    every feature present (``end_ns``: none after it)."""
    features, own = curve_features(bars_of, symbols, config, optional, end_ns)
    frame = features.join(own.select("symbol", "ts", "open", "high", "low", "close"),
                          on=["symbol", "ts"]).sort("symbol", "ts")  # fmt: skip
    # a session with any feature missing (a window not yet full, a stale reference series)
    # gets no state: no decision is made on it
    complete = pl.all_horizontal(pl.col(n).is_not_null() for n in CURVE_SCHEMA.names)
    frame = frame.filter(complete)
    if frame.is_empty():
        raise DataError(
            f"{', '.join(symbols)}: no session with a full year of history. Fix: tradeloop "
            "ingest (the agent needs more than 253 daily sessions per symbol)"
        )
    states = states_for(frame, curve, float(curve.hold_tstat))
    return frame.select("symbol", "ts", "open", "high", "low", "close").with_columns(
        pl.Series(name, states[:, i]) for i, name in enumerate(STATE_COLUMNS)
    )


def histories(frame: pl.DataFrame, start_ns: int | None = None,
              end_ns: int | None = None) -> list[SymbolHistory]:  # fmt: skip
    """One SymbolHistory per symbol of ``frame`` (a state_frame) within [start, end]."""
    if start_ns is not None:
        frame = frame.filter(pl.col("ts") >= start_ns)
    if end_ns is not None:
        frame = frame.filter(pl.col("ts") <= end_ns)
    out = []
    for (symbol,), part in frame.sort("ts").group_by(["symbol"], maintain_order=True):
        out.append(SymbolHistory(
            str(symbol), part.select(STATE_COLUMNS).to_numpy().astype(np.float32),
            part["open"].to_numpy().astype(np.float64), part["close"].to_numpy().astype(np.float64),
            part["ts"].to_numpy(),
        ))  # fmt: skip
    return sorted(out, key=lambda h: h.symbol)
