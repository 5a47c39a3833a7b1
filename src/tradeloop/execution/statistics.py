"""Performance statistics of an equity curve and its trades (plain functions)."""

from __future__ import annotations

import math

import numpy as np

from tradeloop.execution.portfolio import ClosedTrade


def max_drawdown(equity: np.ndarray) -> float:
    """Largest peak-to-trough fall, as a negative fraction (0.0 when it never fell)."""
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(np.min(equity / peaks - 1.0))


def sharpe_ratio(equity: np.ndarray, periods_per_year: float) -> float:
    """Annualised Sharpe of per-period simple returns (risk-free rate 0)."""
    if equity.size < 3:
        return 0.0
    returns = np.diff(equity) / equity[:-1]
    deviation = returns.std(ddof=1)
    if deviation == 0 or not math.isfinite(deviation):
        return 0.0
    return float(returns.mean() / deviation * math.sqrt(periods_per_year))


def win_rate(trades: list[ClosedTrade]) -> float:
    """Fraction of closed trades with positive net P&L (0.0 without trades)."""
    if not trades:
        return 0.0
    return sum(1 for trade in trades if trade.pnl > 0) / len(trades)


def summarize(
    equity: np.ndarray, trades: list[ClosedTrade], periods_per_year: float
) -> dict[str, float]:
    """Return, Sharpe, max drawdown, win rate and trade count of one run."""
    total_return = float(equity[-1] / equity[0] - 1.0) if equity.size else 0.0
    return {
        "total_return": total_return,
        "sharpe": sharpe_ratio(equity, periods_per_year),
        "max_drawdown": max_drawdown(equity),
        "win_rate": win_rate(trades),
        "trades": float(len(trades)),
    }
