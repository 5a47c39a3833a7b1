"""Every order passes risk; the kill switch stops all of them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tradeloop.execution.engine import TradingEngine
from tradeloop.execution.portfolio import Portfolio
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.testing import RecordingVenue, stub_order
from tradeloop.testing.orders import UNLIMITED_RISK


def _engine(tmp_path: Path, **risk: float) -> tuple[TradingEngine, RecordingVenue]:
    venue = RecordingVenue()
    engine = TradingEngine(
        venue=venue,
        portfolio=Portfolio(cash=Decimal(10_000)),
        risk=UNLIMITED_RISK.model_copy(update=risk),
        kill_switch=KillSwitch(tmp_path / "KILL_SWITCH"),
    )
    return engine, venue


def test_submit_when_kill_switch_present_then_denied_and_venue_untouched(tmp_path: Path) -> None:
    engine, venue = _engine(tmp_path)
    engine.kill_switch.engage("operator halt")
    assert not engine.submit(stub_order(), Decimal(10), Decimal(10_000), 0)
    assert venue.orders == []
    assert engine.rejected[0].reason.startswith("KILL_SWITCH")
    engine.kill_switch.release()
    assert engine.submit(stub_order(client_order_id="o-2"), Decimal(10), Decimal(10_000), 0)


def test_submit_when_beyond_buying_power_then_denied(tmp_path: Path) -> None:
    engine, venue = _engine(tmp_path)
    assert not engine.submit(stub_order(quantity="200"), Decimal(100), Decimal(10_000), 0)
    assert "INSUFFICIENT_BUYING_POWER" in engine.rejected[0].reason
    assert venue.orders == []


def test_submit_when_order_notional_over_limit_then_denied(tmp_path: Path) -> None:
    engine, _ = _engine(tmp_path, max_order_notional_usd=500.0)
    assert not engine.submit(stub_order(quantity="10"), Decimal(100), Decimal(10_000), 0)
    assert "MAX_ORDER_NOTIONAL" in engine.rejected[0].reason


def test_submit_when_same_client_id_twice_then_sent_once(tmp_path: Path) -> None:
    engine, venue = _engine(tmp_path)
    order = stub_order()
    assert engine.submit(order, Decimal(10), Decimal(10_000), 0)
    assert not engine.submit(order, Decimal(10), Decimal(10_000), 0)
    assert venue.orders == [order]


def test_kill_switch_when_engaged_after_submit_then_pending_order_canceled(tmp_path: Path) -> None:
    from tradeloop.execution.bar_view import BarView
    from tradeloop.execution.config import ExecutionConfig
    from tradeloop.execution.engine import simulated_engine

    engine = simulated_engine(ExecutionConfig(), RiskConfig(), KillSwitch(tmp_path / "KS"))
    assert engine.submit(stub_order(), Decimal(10), Decimal(100_000), 0)
    engine.kill_switch.engage("halt between submit and fill")
    engine.halt_if_killed(1)
    bar = BarView("TEST", 1, 10.0, 10.0, 10.0, 10.0, 100.0)
    assert engine.venue.on_bar(bar) == []
    assert engine.portfolio.quantity("TEST") == 0
    assert engine.rejected[-1].reason.startswith("KILL_SWITCH: canceled")
