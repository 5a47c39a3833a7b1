"""Statistics of an equity curve (plain functions on NumPy arrays), shared by backtests,
reports and the RL agents' metrics."""

from __future__ import annotations

import math

import numpy as np


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


def sortino_ratio(equity: np.ndarray, periods_per_year: float) -> float:
    """Annualised Sortino: mean return over the downside deviation (target 0)."""
    if equity.size < 3:
        return 0.0
    returns = np.diff(equity) / equity[:-1]
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    if downside == 0 or not math.isfinite(downside):
        return 0.0
    return float(returns.mean() / downside * math.sqrt(periods_per_year))
