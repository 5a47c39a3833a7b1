# mypy: disable-error-code="no-untyped-def"
# (the compiled loop takes plain arrays; Numba types them, not annotations)
"""TP/SL evaluation with cooldown, on a series of bins.

A signal at bin ``i`` (+1 long, -1 short) opens a position at the next valid bin's mid
(``mid`` 0 bins, like the 09:30 snap/clear, are skipped throughout) when flat and out of
cooldown. Each following valid bin's mid is checked, in order: the move in ticks reaches
``tp_ticks`` (take-profit) or ``-sl_ticks`` (stop-loss), or ``max_hold_bins`` bins have
passed since entry (max hold); the trade exits at that bin's mid (its PnL is the move
there, in ticks). After an exit, no entry for ``cooldown_bins`` bins. A position still
open when the bins run out exits at the last valid mid (reason ``end``).

Metrics of a run: trades, hit rate (PnL > 0), mean and total PnL in ticks, max drawdown of
the cumulative PnL in ticks, Sharpe of per-trade PnL (mean / sample std; 0 below two
trades or with no variation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

TAKE_PROFIT, STOP_LOSS, MAX_HOLD, END = 1, 2, 3, 4
REASONS = {TAKE_PROFIT: "take_profit", STOP_LOSS: "stop_loss", MAX_HOLD: "max_hold", END: "end"}


@nb.njit(cache=True, nogil=True)
def _evaluate(mid, signal, tick, tp, sl, max_hold, cooldown, out):
    """Trades into ``out`` rows (entry bin, exit bin, direction, reason) and their PnL in
    ticks into the last column; returns how many."""
    n = mid.size
    trades = 0
    i = 0
    blocked_until = -1  # no entry at a bin <= this one
    while i < n:
        if signal[i] == 0 or i <= blocked_until or mid[i] <= 0:
            i += 1
            continue
        direction = signal[i]
        entry = i + 1
        while entry < n and mid[entry] <= 0:
            entry += 1
        if entry >= n:
            break
        price = mid[entry]
        exit_bin, reason, pnl = -1, 0, 0.0
        last_valid = entry
        j = entry + 1
        while j < n:
            if mid[j] > 0:
                last_valid = j
                move = direction * (mid[j] - price) / tick
                if move >= tp:
                    exit_bin, reason, pnl = j, TAKE_PROFIT, move
                    break
                if move <= -sl:
                    exit_bin, reason, pnl = j, STOP_LOSS, move
                    break
                if j - entry >= max_hold:
                    exit_bin, reason, pnl = j, MAX_HOLD, move
                    break
            j += 1
        if exit_bin < 0:
            exit_bin, reason = last_valid, END
            pnl = direction * (mid[last_valid] - price) / tick
        out[trades, 0] = entry
        out[trades, 1] = exit_bin
        out[trades, 2] = direction
        out[trades, 3] = reason
        out[trades, 4] = pnl
        trades += 1
        blocked_until = exit_bin + cooldown
        i = exit_bin + 1
    return trades


@dataclass(frozen=True, slots=True)
class Trades:
    entry: np.ndarray
    exit: np.ndarray
    direction: np.ndarray
    reason: np.ndarray
    pnl_ticks: np.ndarray


def evaluate(
    mid: np.ndarray,
    signal: np.ndarray,
    tick_size: float,
    *,
    tp_ticks: float,
    sl_ticks: float,
    max_hold_bins: int,
    cooldown_bins: int,
) -> Trades:
    """The trades ``signal`` makes on ``mid`` (both one value per bin)."""
    if mid.shape != signal.shape:
        raise ValueError(f"mid has {mid.size} bins, signal {signal.size}")
    out = np.zeros((int(np.count_nonzero(signal)) + 1, 5))  # a trade needs a signal
    count = _evaluate(
        np.ascontiguousarray(mid, dtype=np.float64),
        np.ascontiguousarray(signal, dtype=np.int8),
        float(tick_size), float(tp_ticks), float(sl_ticks), int(max_hold_bins),
        int(cooldown_bins), out,
    )  # fmt: skip
    rows = out[:count]
    return Trades(
        rows[:, 0].astype(np.int64),
        rows[:, 1].astype(np.int64),
        rows[:, 2].astype(np.int8),
        rows[:, 3].astype(np.int8),
        rows[:, 4].copy(),
    )


@nb.njit(cache=True, nogil=True)
def _metrics(pnl: np.ndarray) -> tuple[float, float, float, float, float]:
    """(hit rate, mean, total, max drawdown, Sharpe) of per-trade PnL."""
    count = pnl.size
    total, hits, equity, peak, drawdown = 0.0, 0, 0.0, 0.0, 0.0
    for value in pnl:
        total += value
        hits += value > 0
        equity += value
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    mean = total / count
    sharpe = 0.0
    if count > 1:
        square = 0.0
        for value in pnl:
            square += (value - mean) ** 2
        std = math.sqrt(square / (count - 1))
        if std > 0:
            sharpe = mean / std
    return hits / count, mean, total, drawdown, sharpe


def metrics(trades: Trades) -> dict[str, float]:
    pnl = np.ascontiguousarray(trades.pnl_ticks, dtype=np.float64)
    if pnl.size == 0:
        return {"trades": 0, "hit_rate": 0.0, "mean_pnl_ticks": 0.0, "total_pnl_ticks": 0.0,
                "max_drawdown_ticks": 0.0, "sharpe": 0.0}  # fmt: skip
    hit_rate, mean, total, drawdown, sharpe = _metrics(pnl)
    return {
        "trades": int(pnl.size),
        "hit_rate": hit_rate,
        "mean_pnl_ticks": mean,
        "total_pnl_ticks": total,
        "max_drawdown_ticks": drawdown,
        "sharpe": sharpe,
    }
