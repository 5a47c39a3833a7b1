"""The scalper's reward and training metrics: ``calculate_reward`` shapes a day's PnL with
a hindsight bonus and a trade-count penalty; ``calculate_metrics`` reports a run (Sharpe,
Sortino, drawdown, win rate, average profit per trade) with the same statistics the
backtests use."""

from __future__ import annotations

import numpy as np

from tradeloop.core.equity_stats import max_drawdown, sharpe_ratio, sortino_ratio


def calculate_reward(
    daily_pnl: float,
    trades: int,
    hindsight_pnl: float,
    *,
    bonus_weight: float = 0.1,
    free_trades: int = 10,
    trade_penalty: float = 0.0002,
) -> float:
    """The day's PnL, plus ``bonus_weight`` x the share of the hindsight-best PnL it
    captured (in units of that best, clipped to [-1, 1]; nothing when the best is 0), minus
    ``trade_penalty`` per trade beyond ``free_trades``."""
    bonus = 0.0
    if hindsight_pnl > 0:
        bonus = bonus_weight * float(np.clip(daily_pnl / hindsight_pnl, -1.0, 1.0)) * hindsight_pnl
    penalty = trade_penalty * max(0, trades - free_trades)
    return float(daily_pnl + bonus - penalty)


def calculate_metrics(
    step_returns: np.ndarray, trade_pnls: np.ndarray, periods_per_year: float = 252.0
) -> dict[str, float]:
    """A run's figures from its per-step simple returns and its closed trades' PnL."""
    returns = np.asarray(step_returns, dtype=np.float64)
    equity = np.concatenate([[1.0], np.cumprod(1.0 + returns)])
    pnls = np.asarray(trade_pnls, dtype=np.float64)
    return {
        "total_return": float(equity[-1] - 1.0),
        "sharpe": sharpe_ratio(equity, periods_per_year),
        "sortino": sortino_ratio(equity, periods_per_year),
        "max_drawdown": max_drawdown(equity),
        "win_rate": float(np.mean(pnls > 0)) if pnls.size else 0.0,
        "trades": float(pnls.size),
        "avg_profit_per_trade": float(pnls.mean()) if pnls.size else 0.0,
    }
