"""Compiled (Numba) hot loops of pivot-event detection: one pass over the bars each.

The bars must be sorted by symbol, then time; ``symbol_start`` / ``session_start`` flag
the first bar of each symbol / session. Every value at row i uses rows <= i only.
"""

from __future__ import annotations

import numba as nb
import numpy as np

WILDER = 1.0 / 14.0
VOLUME_WINDOW = 20
TREND_BARS = 10


@nb.njit(cache=True)
def bar_state(
    symbol_start: np.ndarray,
    session_start: np.ndarray,
    ts: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wilder ATR(14) in bps, Wilder RSI(14), volume z-score(20), session high/low so far,
    session first ts, and the least-squares slope of the last 10 closes in bps per bar."""
    n = close.size
    atr = np.full(n, np.nan)
    rsi = np.full(n, np.nan)
    volume_z = np.full(n, np.nan)
    session_high = np.empty(n)
    session_low = np.empty(n)
    session_first = np.empty(n, dtype=np.int64)
    slope = np.full(n, np.nan)
    weights = np.empty(TREND_BARS)
    centre = (TREND_BARS - 1) / 2.0
    denominator = 0.0
    for j in range(TREND_BARS):
        denominator += (j - centre) ** 2
    for j in range(TREND_BARS):
        weights[j] = (j - centre) / denominator
    tr_ewm = 0.0
    gain_ewm = 0.0
    loss_ewm = 0.0
    count = 0
    for i in range(n):
        if symbol_start[i]:
            count = 0
        if session_start[i] or symbol_start[i]:
            session_high[i] = high[i]
            session_low[i] = low[i]
            session_first[i] = ts[i]
        else:
            session_high[i] = max(session_high[i - 1], high[i])
            session_low[i] = min(session_low[i - 1], low[i])
            session_first[i] = session_first[i - 1]
        if count == 0:
            true_range = high[i] - low[i]
            tr_ewm = true_range
        else:
            previous = close[i - 1]
            true_range = max(high[i] - low[i], abs(high[i] - previous), abs(low[i] - previous))
            tr_ewm += WILDER * (true_range - tr_ewm)
            change = close[i] - previous
            gain = change if change > 0 else 0.0
            loss = -change if change < 0 else 0.0
            if count == 1:
                gain_ewm, loss_ewm = gain, loss
            else:
                gain_ewm += WILDER * (gain - gain_ewm)
                loss_ewm += WILDER * (loss - loss_ewm)
            if loss_ewm > 0:
                rsi[i] = 100.0 - 100.0 / (1.0 + gain_ewm / loss_ewm)
            elif gain_ewm > 0:
                rsi[i] = 100.0
        atr[i] = tr_ewm / close[i] * 1e4
        count += 1
        if count >= VOLUME_WINDOW:
            mean = 0.0
            for j in range(i - VOLUME_WINDOW + 1, i + 1):
                mean += volume[j]
            mean /= VOLUME_WINDOW
            spread = 0.0
            for j in range(i - VOLUME_WINDOW + 1, i + 1):
                spread += (volume[j] - mean) ** 2
            std = np.sqrt(spread / (VOLUME_WINDOW - 1))
            if std > 0:
                volume_z[i] = (volume[i] - mean) / std
        if count >= TREND_BARS:
            fitted = 0.0
            for j in range(TREND_BARS):
                fitted += weights[j] * close[i - TREND_BARS + 1 + j]
            slope[i] = fitted / close[i] * 1e4
    return atr, rsi, volume_z, session_high, session_low, session_first, slope


@nb.njit(cache=True)
def _touch_pass(
    session_start: np.ndarray,
    session_index: np.ndarray,
    ts: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    levels: np.ndarray,
    or_end: np.ndarray,
    opening_range: np.ndarray,
    tolerance: float,
    rows: np.ndarray,
    ranks: np.ndarray,
    counts: np.ndarray,
    record: bool,
) -> int:
    kinds = levels.shape[1]
    touching = np.zeros(kinds, dtype=np.bool_)
    visits = np.zeros(kinds, dtype=np.int64)
    up = 1.0 + tolerance
    down = 1.0 - tolerance
    found = 0
    for i in range(high.size):
        if session_start[i]:
            for k in range(kinds):
                touching[k] = False
                visits[k] = 0
        s = session_index[i]
        h = high[i]
        lo = low[i]
        after_opening = ts[i] >= or_end[s]
        for k in range(kinds):
            level = levels[s, k]
            # NaN compares false, so a missing level never touches.
            hit = (lo <= level * up) & (h >= level * down)
            if opening_range[k]:
                hit = hit & after_opening
            if hit and not touching[k]:
                if record:
                    rows[found] = i
                    ranks[found] = k
                    counts[found] = visits[k]
                visits[k] += 1
                found += 1
            touching[k] = hit
    return found


def scan_touches(
    session_start: np.ndarray,
    session_index: np.ndarray,
    ts: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    levels: np.ndarray,
    or_end: np.ndarray,
    opening_range: np.ndarray,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, level ranks and touch counts of every touch: the first bar of each visit
    within ``tolerance`` of a level. ``levels`` is sessions x level types (NaN: none);
    opening-range levels count only from ``or_end`` of their session on. Two passes (count,
    then fill) keep the compiled loop free of allocation."""
    empty = np.empty(0, dtype=np.int64)
    arguments = (
        session_start,
        session_index,
        ts,
        high,
        low,
        levels,
        or_end,
        opening_range,
        tolerance,
    )
    total = _touch_pass(*arguments, empty, empty, empty, False)
    rows, ranks, counts = (np.empty(total, dtype=np.int64) for _ in range(3))
    _touch_pass(*arguments, rows, ranks, counts, True)
    return rows, ranks, counts
