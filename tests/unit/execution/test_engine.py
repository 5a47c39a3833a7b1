"""The engine's one order path with the simulated exchange: partial fills, halts, refusals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradeloop.domain.enums import Side
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import TradingEngine, simulated_engine
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing.orders import UNLIMITED_RISK

MIN = 60_000_000_000


def _engine(tmp_path: Path, **execution: object) -> TradingEngine:
    config = ExecutionConfig(**execution)  # type: ignore[arg-type]
    return simulated_engine(config, UNLIMITED_RISK, KillSwitch(tmp_path / "KILL_SWITCH"))


def _bar(ts: int, price: float = 100.0, volume: float = 1000.0) -> BarView:
    return BarView("SPY", ts, price, price, price, price, volume)


def test_engine_when_order_exceeds_participation_then_booked_in_parts(tmp_path: Path) -> None:
    engine = _engine(tmp_path, commission_rate=0.0, max_participation=0.1)
    order = SubmitOrder("big", "SPY", Side.BUY, Decimal(250), ts_init=0)
    assert engine.submit(order, Decimal(100), Decimal(100_000), 0)
    quantities = []
    for n in range(1, 4):
        engine.on_bar(_bar(n * MIN))
        quantities.append(engine.portfolio.quantity("SPY"))
    assert quantities == [Decimal(100), Decimal(200), Decimal(250)]
    assert len(engine.fills) == 3
    assert engine.orders.journal.get("big").state is OrderState.FILLED  # type: ignore[union-attr]
    assert engine.portfolio.cash == Decimal(100_000) - Decimal(25_000)


def test_engine_when_kill_switch_mid_fill_then_remainder_canceled_and_fills_kept(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path, commission_rate=0.0, max_participation=0.1)
    engine.submit(
        SubmitOrder("big", "SPY", Side.BUY, Decimal(250), ts_init=0),
        Decimal(100),
        Decimal(100_000),
        0,
    )
    engine.on_bar(_bar(MIN))
    engine.kill_switch.engage("operator")
    engine.halt_if_killed(2 * MIN)
    engine.on_bar(_bar(3 * MIN))
    assert engine.portfolio.quantity("SPY") == Decimal(100)
    order = engine.orders.journal.get("big")
    assert order is not None
    assert (order.state, order.filled_quantity) == (OrderState.CANCELED, Decimal(100))
    assert engine.rejected[-1].reason.startswith("KILL_SWITCH")


def test_engine_when_venue_refuses_short_then_rejected_with_its_reason(tmp_path: Path) -> None:
    engine = _engine(tmp_path, allow_short=False)
    order = SubmitOrder("short", "SPY", Side.SELL, Decimal(5), ts_init=0)
    assert not engine.submit(order, Decimal(100), Decimal(100_000), 0)
    assert "short selling disabled" in engine.rejected[-1].reason
    engine.on_bar(_bar(MIN))
    assert engine.portfolio.quantity("SPY") == 0


def test_sparse_backtest_when_quiet_bars_skipped_then_same_as_every_bar(tmp_path: Path) -> None:
    import numpy as np
    import polars as pl

    from tradeloop.execution.backtest import run_backtest
    from tradeloop.execution.session import TradingSession, bar_views
    from tradeloop.execution.strategy import SmaCrossStrategy
    from tradeloop.testing.stubs import stub_bars

    bars = pl.concat(
        [
            stub_bars(s, 400, seed=k, price=50.0 + 40 * k)
            for k, s in enumerate(("AAA", "BBB", "CCC"))
        ]
    ).filter(~((pl.col("symbol") == "BBB") & (pl.col("ts") % 3 == 0)))  # ragged: gaps
    prepared = SmaCrossStrategy.with_indicators(bars, 3, 8)
    results = []
    for sparse in (True, False):
        engine = simulated_engine(
            ExecutionConfig(commission_rate=0.001), UNLIMITED_RISK, KillSwitch(tmp_path / "KS")
        )
        strategy = SmaCrossStrategy(None, Decimal("0.3"))
        results.append(
            run_backtest(
                prepared,
                strategy,
                engine,
                run_id="r",
                extra_columns=strategy.COLUMNS,
                sparse=sparse,
            )
        )
    quick, full = results
    assert len(quick.trades) > 20
    assert quick.trades == full.trades
    assert quick.fills == full.fills
    assert quick.final_equity == full.final_equity
    # The bulk-computed curve against the per-bar Decimal equity of the plain step loop.
    engine = simulated_engine(
        ExecutionConfig(commission_rate=0.001), UNLIMITED_RISK, KillSwitch(tmp_path / "KS")
    )
    strategy = SmaCrossStrategy(None, Decimal("0.3"))
    session = TradingSession(engine, strategy, "r")
    stepped: dict[int, float] = {}
    for bar in bar_views(prepared, strategy.COLUMNS):
        stepped[bar.ts] = float(session.step(bar).equity)
    assert quick.equity["ts"].to_list() == list(stepped)
    np.testing.assert_allclose(quick.equity["equity"], list(stepped.values()), rtol=1e-12)
    np.testing.assert_allclose(
        quick.equity["gross_exposure"], full.equity["gross_exposure"], rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("symbols", [("AAA",), ("AAA", "BBB", "CCC")])
def test_sparse_backtest_when_default_risk_rules_watch_every_bar_then_same_as_every_bar(
    tmp_path: Path, symbols: tuple[str, ...]
) -> None:
    """The daily loss limit, the breach trim and the correlation limit look at bars where
    nothing trades; skipping those bars must not change a single decision."""
    import numpy as np
    import polars as pl

    from tradeloop.execution.backtest import run_backtest
    from tradeloop.execution.strategy import SmaCrossStrategy
    from tradeloop.risk.config import RiskConfig
    from tradeloop.testing.stubs import stub_bars

    bars = pl.concat(
        [
            stub_bars(s, 900, seed=k + 7, price=50.0 + 40 * k, bar_interval_sec=3600)
            for k, s in enumerate(symbols)
        ]
    ).filter(~((pl.col("symbol") == "BBB") & (pl.col("ts") % 7 == 0)))  # ragged: gaps
    prepared = SmaCrossStrategy.with_indicators(bars, 3, 8)
    risk = RiskConfig(
        daily_loss_limit=0.004,
        position_breach_tolerance=0.002,
        max_correlation=0.9,
        correlation_window=5,
        loss_streak_max=3,
    )
    results, gates = [], []
    for sparse in (True, False):
        engine = simulated_engine(
            ExecutionConfig(commission_rate=0.001), risk, KillSwitch(tmp_path / "KS")
        )
        strategy = SmaCrossStrategy(None, Decimal("0.19"))
        results.append(
            run_backtest(
                prepared,
                strategy,
                engine,
                run_id="r",
                extra_columns=strategy.COLUMNS,
                sparse=sparse,
            )
        )
        gates.append(engine.gate)
    quick, full = results
    assert gates[1].triggers["daily_cap"] > 3  # the data trips every rule under test
    assert gates[1].counts["position_breach_reduce"] > 3
    assert gates[1].counts["DAILY_CAP"] > 0
    assert quick.trades == full.trades
    assert quick.fills == full.fills
    assert quick.rejected == full.rejected
    assert gates[0].state == gates[1].state
    assert gates[0].triggers == gates[1].triggers
    assert gates[0].counts == gates[1].counts
    assert quick.final_equity == full.final_equity
    np.testing.assert_allclose(quick.equity["equity"], full.equity["equity"], rtol=1e-12)
