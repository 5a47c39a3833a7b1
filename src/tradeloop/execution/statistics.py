"""Performance statistics of an equity curve and its trades (plain functions)."""

from __future__ import annotations

import numpy as np

# their home is core.equity_stats; reports and backtests import them from here
from tradeloop.core.equity_stats import max_drawdown as max_drawdown
from tradeloop.core.equity_stats import sharpe_ratio as sharpe_ratio
from tradeloop.core.equity_stats import sortino_ratio as sortino_ratio
from tradeloop.execution.portfolio import ClosedTrade


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


def run_metrics(
    equity: np.ndarray,
    trades: list[ClosedTrade],
    gross_exposure: np.ndarray,
    traded_notional: float,
    periods_per_year: float,
) -> dict[str, float]:
    """The runbooks' metrics of one run: return, Sharpe, Sortino, max drawdown, win rate,
    average net profit per trade, exposure (share of bars holding a position), average
    gross exposure and turnover (traded notional / average equity)."""
    metrics = summarize(equity, trades, periods_per_year)
    metrics["sortino"] = sortino_ratio(equity, periods_per_year)
    metrics["avg_trade_pnl"] = (
        float(sum(float(t.pnl) for t in trades) / len(trades)) if trades else 0.0
    )
    metrics["exposure"] = float(np.mean(gross_exposure > 0)) if gross_exposure.size else 0.0
    metrics["avg_gross_exposure"] = float(np.mean(gross_exposure)) if gross_exposure.size else 0.0
    mean_equity = float(np.mean(equity)) if equity.size else 0.0
    metrics["turnover"] = traded_notional / mean_equity if mean_equity > 0 else 0.0
    return metrics


def daily_pnl(ts: np.ndarray, equity: np.ndarray, initial: float) -> list[tuple[str, float]]:
    """(UTC date, equity change that day): each day's last equity minus the previous
    day's last (the first day's minus ``initial``). The changes sum to the total PnL."""
    if ts.size == 0:
        return []
    days = (ts // 86_400_000_000_000).astype(np.int64)
    last = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    closes = equity[last]
    changes = np.diff(closes, prepend=initial)
    dates = days[last].astype("datetime64[D]").astype(str)
    return [(str(d), float(c)) for d, c in zip(dates, changes, strict=True)]
