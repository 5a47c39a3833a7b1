"""Reconciliation: adopt what the venue proves, refuse what nobody can explain."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tradeloop.domain.enums import Side
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig
from tradeloop.execution.engine import TradingEngine, simulated_engine
from tradeloop.execution.reconcile import reconcile
from tradeloop.execution.sim_exchange import SimulatedExchange
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch

MIN = 60_000_000_000


def _engine(tmp_path: Path) -> tuple[TradingEngine, SimulatedExchange]:
    engine = simulated_engine(
        ExecutionConfig(commission_rate=0.001), RiskConfig(), KillSwitch(tmp_path / "KS")
    )
    assert isinstance(engine.venue, SimulatedExchange)
    return engine, engine.venue


def _positions(engine: TradingEngine) -> dict[str, Decimal]:
    return {s: p.quantity for s, p in engine.portfolio.positions.items() if p.quantity}


def test_reconcile_when_fill_lost_in_a_crash_then_applied_once_and_state_adopted(
    tmp_path: Path,
) -> None:
    engine, exchange = _engine(tmp_path)
    engine.submit(
        SubmitOrder("o1", "SPY", Side.BUY, Decimal(10), ts_init=0),
        Decimal(100),
        Decimal(100_000),
        0,
    )
    exchange.on_bar(BarView("SPY", MIN, 100, 101, 99, 100, 1e6))  # events lost: a crash
    assert engine.portfolio.quantity("SPY") == 0
    report = reconcile(
        engine.orders, exchange, ["o1"], lambda: _positions(engine), dict(exchange.positions)
    )
    assert report.safe, report.refusals
    assert any("applied missing fill sim-1-1" in c for c in report.corrections)
    assert engine.portfolio.quantity("SPY") == Decimal(10)
    assert engine.orders.journal.get("o1").state is OrderState.FILLED  # type: ignore[union-attr]
    cash = engine.portfolio.cash
    again = reconcile(
        engine.orders, exchange, ["o1"], lambda: _positions(engine), dict(exchange.positions)
    )
    assert again.safe
    assert again.corrections == []
    assert engine.portfolio.cash == cash  # nothing applied twice


def test_reconcile_when_venue_holds_foreign_order_or_position_then_refuses(
    tmp_path: Path,
) -> None:
    engine, exchange = _engine(tmp_path)
    exchange.send(SubmitOrder("someone-else", "SPY", Side.BUY, Decimal(1), ts_init=0))
    report = reconcile(engine.orders, exchange, [], lambda: _positions(engine), {"QQQ": Decimal(5)})
    assert not report.safe
    assert any("someone-else" in r for r in report.refusals)
    assert any("position QQQ: ledger 0 vs venue 5" in r for r in report.refusals)
