"""``tradeloop run``'s results as one value: a backtest over stored bars, or what a paper,
simulate or live feed did, with the metrics, curves and details its report shows."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeloop.bootstrap.app import App
from tradeloop.bootstrap.trade_feed import OpenFeed
from tradeloop.core.errors import DataError
from tradeloop.core.ids import new_run_id
from tradeloop.core.time import iso_from_ns
from tradeloop.domain.asset_class import periods_per_year
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.kernel import Cursor
from tradeloop.execution.portfolio import Portfolio
from tradeloop.execution.statistics import daily_pnl
from tradeloop.usecases.backtest_run import curve_metrics, run_strategy
from tradeloop.usecases.paper_trading import AccountRules
from tradeloop.usecases.strategy_plans import StrategyPlan


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a run's report shows: the title, per-column metrics and curves over ``ts``,
    the details, the daily PnL; ``ts`` empty when no bar was stepped."""

    run_id: str
    title: str
    ts: np.ndarray
    columns: dict[str, dict[str, float]]
    curves: dict[str, np.ndarray]
    details: dict[str, Any]
    daily: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    plan: StrategyPlan
    execution: ExecutionConfig
    symbols: tuple[str, ...]
    interval_sec: int
    start_ns: int
    end_ns: int | None
    benchmark: str | None
    interval_label: str
    on_progress: Callable[[int, int], None] | None = None


def _benchmark(store: Any, request: BacktestRequest, end: int) -> tuple[str | None, Any]:
    """The benchmark and its stored bars; none when it is the traded symbol itself (its
    buy and hold is already drawn: one line, not two equal ones)."""
    benchmark = request.benchmark
    if benchmark is None or (benchmark,) == tuple(request.symbols):
        return None, None
    seconds = request.interval_sec
    bench = store.load_bars_many([benchmark], seconds, request.start_ns, end)
    if bench.is_empty():
        raise DataError(f"--benchmark {benchmark}: no stored bars; ingest it first")
    return benchmark, bench


def backtest(app: App, request: BacktestRequest) -> RunOutcome:
    """The strategy over the stored bars of the range, against buy and hold (and the
    benchmark); the closing positions and round trips stored for the reports."""
    symbols, seconds, plan = request.symbols, request.interval_sec, request.plan
    end = request.end_ns if request.end_ns is not None else time.time_ns()
    store = app.ingest_store()
    bars = store.load_bars_many(list(symbols), seconds, request.start_ns, end)
    stored = set(bars["symbol"].unique().to_list()) if not bars.is_empty() else set()
    missing = sorted(set(symbols) - stored)
    if missing:
        raise DataError(
            f"no stored {request.interval_label} bars for {', '.join(missing)} in the range; "
            f"ingest them first: tradeloop ingest --tickers {','.join(missing)}"
        )
    benchmark, bench = _benchmark(store, request, end)
    run_id = new_run_id("run")
    outcome = run_strategy(
        bars,
        plan=plan,
        rules=AccountRules(request.execution, app.config.risk, app.kill_switch()),
        run_id=run_id,
        bar_interval_sec=seconds,
        benchmark_bars=bench,
        on_progress=request.on_progress,
    )
    result = outcome.result
    ts = result.equity["ts"].to_numpy()
    closing = Portfolio.replayed(result.initial_cash, result.fills)
    app.write_ledger(run_id, closing, result.trades, int(ts[-1]))
    columns = {"strategy": outcome.metrics, "buy and hold": outcome.buy_and_hold}
    curves = {
        "strategy": result.equity["equity"].to_numpy(),
        "buy and hold": outcome.buy_and_hold_equity,
    }
    if outcome.benchmark:
        columns[f"benchmark {benchmark}"] = outcome.benchmark
        curves[f"benchmark {benchmark}"] = outcome.benchmark_equity
    details: dict[str, Any] = {
        "run_id": run_id,
        "mode": "backtest",
        "symbols": list(symbols),
        "start": iso_from_ns(int(ts[0])),
        "end": iso_from_ns(int(ts[-1])),
        "initial_cash": float(result.initial_cash),
        "final_equity": str(result.final_equity),
        "orders_denied": len(result.rejected),
        "fills": len(result.fills),
        "denials_by_code": dict(Counter(r.reason.split(":")[0] for r in result.rejected)),
    }
    if request.benchmark and benchmark is None:
        details["note"] = f"benchmark {request.benchmark} is the traded symbol: its buy and hold"
    if plan.model is not None:
        trained_end = plan.model.trained_end_ns
        details["model_version_id"] = plan.model.model_version_id
        details["model_trained_end"] = iso_from_ns(trained_end)
        # Bars the model was trained on flatter it: say how many the run used.
        details["in_sample_bars"] = int(bars.filter(bars["ts"] <= trained_end).height)
    daily = daily_pnl(ts, curves["strategy"], float(result.initial_cash))
    title = f"{plan.title} on {','.join(symbols)}"
    return RunOutcome(run_id, title, ts, columns, curves, details, daily)


def feed_outcome(feed: OpenFeed, mode: str, cursor: Cursor | None) -> RunOutcome:
    """What a paper, simulate or live feed did (``ts`` empty when no bar was new)."""
    session, stats, spec = feed.session, feed.stats, feed.spec
    portfolio = session.engine.portfolio
    details: dict[str, Any] = {
        "run_id": feed.run_id,
        "mode": mode,
        "symbols": list(spec.symbols),
        "bars_stepped": stats.bars,
        "orders_sent": stats.orders_sent,
        "orders_denied": stats.orders_denied,
        "fills": stats.fills,
        "cursor": iso_from_ns(cursor[0]) if cursor else None,
        "cash": str(portfolio.cash),
        "equity": str(session.equity()) if session.marks else str(portfolio.cash),
        "positions": {
            s: str(p.quantity) for s, p in sorted(portfolio.positions.items()) if p.quantity
        },
        "unrealized_pnl": {
            s: str(v) for s, v in sorted(portfolio.unrealized_pnl(session.marks).items())
        },
        "commissions": str(portfolio.commissions),
    }
    run_id = f"{feed.run_id}-{new_run_id('step')}"
    title = f"{mode} {feed.plan.title} on {','.join(spec.symbols)}"
    if not stats.equity:
        return RunOutcome(run_id, title, np.zeros(0, np.int64), {}, {}, details, [])
    ts = np.array([t for t, _ in stats.equity], dtype=np.int64)
    equity = np.array([e for _, e in stats.equity])
    periods = periods_per_year(spec.interval_sec, spec.symbols)
    columns = {"strategy": curve_metrics(equity, periods)}
    daily = daily_pnl(ts, equity, float(equity[0]))
    return RunOutcome(run_id, title, ts, columns, {"strategy": equity}, details, daily)
