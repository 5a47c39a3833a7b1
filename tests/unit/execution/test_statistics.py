"""Run metrics against values worked out by hand (and pandas as a second opinion)."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tradeloop.execution.portfolio import ClosedTrade
from tradeloop.execution.statistics import max_drawdown, run_metrics, sharpe_ratio, sortino_ratio


def _trade(pnl: str) -> ClosedTrade:
    return ClosedTrade("X", Decimal(1), Decimal(1), Decimal(1), 0, 1, Decimal(pnl), Decimal(0))


def test_sortino_when_returns_known_then_matches_hand_formula() -> None:
    equity = np.array([100.0, 110.0, 99.0, 108.9, 108.9])
    returns = np.array([0.10, -0.10, 0.10, 0.0])
    downside = math.sqrt((0.10**2) / 4)
    assert sortino_ratio(equity, 252) == pytest.approx(returns.mean() / downside * math.sqrt(252))
    reference = pd.Series(equity).pct_change().dropna()
    assert sharpe_ratio(equity, 252) == pytest.approx(
        reference.mean() / reference.std() * math.sqrt(252)
    )
    assert max_drawdown(equity) == pytest.approx(99 / 110 - 1)
    assert sortino_ratio(np.array([1.0, 2.0, 3.0]), 252) == 0.0  # no downside: undefined


def test_run_metrics_when_trades_and_exposure_then_averages_and_turnover() -> None:
    equity = np.array([100.0, 100.0, 120.0, 120.0])
    exposure = np.array([0.0, 0.9, 0.9, 0.0])
    metrics = run_metrics(equity, [_trade("30"), _trade("-10")], exposure, 220.0, 252)
    assert metrics["avg_trade_pnl"] == 10.0
    assert metrics["win_rate"] == 0.5
    assert metrics["exposure"] == 0.5
    assert metrics["avg_gross_exposure"] == pytest.approx(0.45)
    assert metrics["turnover"] == pytest.approx(220.0 / 110.0)
    assert metrics["total_return"] == pytest.approx(0.2)


def test_daily_pnl_when_intraday_curve_then_one_change_per_day_summing_to_total() -> None:
    from tradeloop.execution.statistics import daily_pnl

    hour = 3_600_000_000_000
    day = 24 * hour
    ts = np.array([0, hour, 2 * hour, day + hour, day + 5 * hour, 3 * day], dtype=np.int64)
    equity = np.array([100.0, 101.0, 99.0, 103.0, 104.0, 90.0])
    pnl = daily_pnl(ts, equity, initial=100.0)
    assert pnl == [("1970-01-01", -1.0), ("1970-01-02", 5.0), ("1970-01-04", -14.0)]
    assert sum(change for _, change in pnl) == equity[-1] - 100.0
