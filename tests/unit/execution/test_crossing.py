"""Crossovers are decided exactly: flat prices and exact ties make no fake crosses."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.execution.backtest import run_backtest
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.crossing import sma_sides
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.fast_path import FastCosts, sma_cross, sma_cross_sweep
from tradeloop.execution.strategy import SmaCrossStrategy
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.orders import UNLIMITED_RISK

DAY_NS = 86_400 * 10**9


def _oracle_sides(close: list[float], fast: int, slow: int) -> list[int | None]:
    """Side of the fast mean against the slow one in exact fractions of the decimal closes."""
    exact = [Fraction(Decimal(repr(c))) for c in close]
    sides: list[int | None] = []
    for i in range(len(exact)):
        if i < slow - 1:
            sides.append(None)
            continue
        diff = sum(exact[i - fast + 1 : i + 1]) / fast - sum(exact[i - slow + 1 : i + 1]) / slow
        sides.append((diff > 0) - (diff < 0))
    return sides


def _oracle_round_trips(sides: list[int | None]) -> int:
    """Closed long trades: a cross up (flat to long), then the next cross down."""
    trips, holding = 0, False
    for a, b in itertools.pairwise(sides):
        if a is None or b is None or a * b != -1:
            continue
        if b > 0:
            holding = True
        elif holding:
            trips, holding = trips + 1, False
    return trips


def _as_list(sides: np.ndarray) -> list[int | None]:
    return [None if np.isnan(s) else int(s) for s in sides]


def _flat_stretch_series() -> list[float]:
    """A real-looking walk with a 400-bar flat stretch in the middle and a plateau step."""
    rng = np.random.default_rng(3)
    walk = list(np.round(100 + np.cumsum(rng.normal(0, 1, 300)), 2))
    flat = [walk[-1]] * 400
    step = [walk[-1] + 0.1] * 50 + [walk[-1] + 0.3] * 50
    tail = list(np.round(step[-1] + np.cumsum(rng.normal(0, 1, 300)), 2))
    return [float(x) for x in walk + flat + step + tail]


@pytest.mark.parametrize(
    "close",
    [
        [101.37] * 60,  # flat: equal averages everywhere
        [100.1] * 20 + [100.2] * 20 + [100.1] * 20 + [100.3] * 20,  # steps
        [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0] * 8,  # exact ties between crosses
        [0.1, 0.2, 0.3] * 30,  # decimals with no exact binary form
    ],
)
def test_sma_sides_when_flat_stepped_or_tied_then_equal_exact_fractions(
    close: list[float],
) -> None:
    assert _as_list(sma_sides(np.array(close), 3, 9)) == _oracle_sides(close, 3, 9)


@settings(max_examples=60, deadline=None)
@given(
    cents=st.lists(st.integers(1, 3), min_size=12, max_size=80),
    fast=st.integers(1, 4),
    extra=st.integers(1, 6),
)
def test_sma_sides_when_prices_repeat_then_equal_exact_fractions(
    cents: list[int], fast: int, extra: int
) -> None:
    close = [1234.5 + c / 100 for c in cents]  # few distinct values: ties everywhere
    slow = fast + extra
    assert _as_list(sma_sides(np.array(close), fast, slow)) == _oracle_sides(close, fast, slow)


def test_sma_sides_when_products_leave_int64_then_python_integers_keep_it_exact() -> None:
    close = [9.9e9, 9.9e9 + 0.5, 9.9e9, 9.9e9 - 0.5] * 300
    assert _as_list(sma_sides(np.array(close), 50, 900)) == _oracle_sides(close, 50, 900)


def _bars(close: list[float]) -> pl.DataFrame:
    n = len(close)
    return pl.DataFrame(
        {
            "symbol": ["FLAT"] * n,
            "ts": [i * DAY_NS for i in range(n)],
            "open": close,
            "high": close,
            "low": close,
            "close": close,
            "volume": [1_000.0] * n,
        }
    )


def test_sma_cross_when_price_sits_still_then_engine_and_fast_path_trade_only_real_crosses(
    tmp_path: Path,
) -> None:
    close = _flat_stretch_series()
    fast_w, slow_w = 5, 20
    trips = _oracle_round_trips(_oracle_sides(close, fast_w, slow_w))
    engine = simulated_engine(
        ExecutionConfig(initial_cash_usd=100_000, commission_rate=0.001),
        UNLIMITED_RISK,
        KillSwitch(tmp_path / "KILL_SWITCH"),
    )
    result = run_backtest(
        SmaCrossStrategy.with_indicators(_bars(close), fast_w, slow_w),
        SmaCrossStrategy(Decimal(10)),
        engine,
        run_id="flat",
        extra_columns=SmaCrossStrategy.COLUMNS,
    )
    fast = sma_cross(
        np.array(close),
        np.array(close),
        fast_w,
        slow_w,
        10,
        FastCosts(commission_rate=0.001, initial_cash=100_000.0),
    )
    assert len(result.trades) == trips
    assert len(result.trades) == len(fast.pnl) > 5
    assert not any(t.entry_price == t.exit_price for t in result.trades)
    assert [t.ts_entry // DAY_NS for t in result.trades] == list(fast.entry_index)
    assert fast.final_equity == pytest.approx(float(result.final_equity), rel=1e-9)
    finals, counts = sma_cross_sweep(
        np.array(close),
        np.array(close),
        np.array([fast_w]),
        np.array([slow_w]),
        10,
        FastCosts(commission_rate=0.001, initial_cash=100_000.0),
    )
    assert counts[0] == len(fast.pnl)
    assert finals[0] == pytest.approx(fast.final_equity, rel=1e-12)
