"""``tradeloop run --mode backtest``: a strategy over stored bars, with the runbooks' metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.domain.asset_class import periods_per_year
from tradeloop.execution.backtest import BacktestResult, run_backtest
from tradeloop.execution.engine import simulated_engine
from tradeloop.execution.statistics import max_drawdown, run_metrics, sharpe_ratio, sortino_ratio
from tradeloop.usecases.paper_trading import AccountRules
from tradeloop.usecases.strategy_plans import StrategyPlan


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """A run's result, its metrics, and the comparisons that give them meaning."""

    result: BacktestResult
    metrics: dict[str, float]
    buy_and_hold: dict[str, float]
    buy_and_hold_equity: np.ndarray
    benchmark: dict[str, float] = field(default_factory=dict)
    benchmark_equity: np.ndarray = field(default_factory=lambda: np.empty(0))


def curve_metrics(equity: np.ndarray, periods: float) -> dict[str, float]:
    """What a passive curve has: return, Sharpe, Sortino, max drawdown."""
    return {
        "total_return": float(equity[-1] / equity[0] - 1.0) if equity.size else 0.0,
        "sharpe": sharpe_ratio(equity, periods),
        "sortino": sortino_ratio(equity, periods),
        "max_drawdown": max_drawdown(equity),
    }


def hold_curve(bars: pl.DataFrame, ts: np.ndarray, capital: float) -> np.ndarray:
    """Equal-weight buy and hold of ``bars``' symbols, marked at each of ``ts``."""
    curves = []
    for _, group in bars.sort("ts").group_by("symbol", maintain_order=True):
        closes = group.select("ts", "close")
        marks = pl.DataFrame({"ts": ts}).join_asof(closes, on="ts", strategy="backward")
        values = marks["close"].fill_null(strategy="forward").to_numpy()
        first = values[~np.isnan(values)][0] if np.any(~np.isnan(values)) else np.nan
        curves.append(np.nan_to_num(values / first, nan=1.0))
    return capital * np.mean(curves, axis=0) if curves else np.full(ts.size, capital)


def run_strategy(
    bars: pl.DataFrame,
    *,
    plan: StrategyPlan,
    rules: AccountRules,
    run_id: str,
    bar_interval_sec: int,
    benchmark_bars: pl.DataFrame | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunOutcome:
    """Run ``strategy`` through the one order path on a SimClock and measure it;
    ``on_progress(bars done, bars)`` as the replay advances."""
    if bars.is_empty():
        raise DataError("no bars to run on; ingest them first (tradeloop ingest ...)")
    engine = simulated_engine(rules.execution, rules.risk, rules.kill_switch)
    result = run_backtest(
        plan.prepare(bars),
        plan.strategy,
        engine,
        run_id=run_id,
        extra_columns=plan.columns,
        on_progress=on_progress,
    )
    equity = result.equity["equity"].to_numpy()
    ts = result.equity["ts"].to_numpy()
    periods = periods_per_year(bar_interval_sec, bars["symbol"].unique().to_list())
    traded = float(sum(abs(f.quantity * f.price) for f in result.fills))
    metrics = run_metrics(
        equity, result.trades, result.equity["gross_exposure"].to_numpy(), traded, periods
    )
    capital = float(result.initial_cash)
    hold = hold_curve(bars, ts, capital)
    outcome = RunOutcome(result, metrics, curve_metrics(hold, periods), hold)
    if benchmark_bars is not None and not benchmark_bars.is_empty():
        curve = hold_curve(benchmark_bars, ts, capital)
        return dataclasses.replace(
            outcome, benchmark=curve_metrics(curve, periods), benchmark_equity=curve
        )
    return outcome
