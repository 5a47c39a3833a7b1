"""A paper venue saved and loaded again continues the same account."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradeloop.core.errors import DataError
from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.exchange_state import load_exchange, save_exchange
from tradeloop.execution.order_manager import VenueFill
from tradeloop.execution.sim_exchange import ExchangeModel

MIN = 60_000_000_000


def test_exchange_when_saved_and_loaded_then_orders_fills_positions_continue(
    tmp_path: Path,
) -> None:
    path = tmp_path / "paper" / "exchange.json"
    model = ExchangeModel(fee_bps=10, fee_fixed=1.0)
    first = load_exchange(path, model, clock=lambda: 0)
    first.send(SubmitOrder("buy", "SPY", Side.BUY, Decimal("10.5"), ts_init=0))
    resting = SubmitOrder(
        "limit",
        "SPY",
        Side.SELL,
        Decimal(4),
        ts_init=0,
        order_type=OrderType.LIMIT,
        limit_price=Decimal("101.25"),
        time_in_force=TimeInForce.GTC,
    )
    first.send(resting)
    first.on_bar(BarView("SPY", MIN, 100, 100.5, 99.5, 100, 1e6))
    save_exchange(first, path)

    second = load_exchange(path, model, clock=lambda: 2 * MIN)
    assert second.state() == first.state()
    assert second.positions == {"SPY": Decimal("10.5")}
    assert second.send(resting) == first.query("limit").venue_order_id  # type: ignore[union-attr]
    events = second.on_bar(BarView("SPY", 2 * MIN, 101, 102, 100.5, 101.5, 1e6))
    fills = [e for e in events if isinstance(e, VenueFill)]
    assert [(f.fill_id, f.price) for f in fills] == [("sim-2-1", Decimal("101.25"))]
    assert second.positions == {"SPY": Decimal("6.5")}
    assert second.query("limit").state is OrderState.FILLED  # type: ignore[union-attr]
    new = second.send(SubmitOrder("later", "SPY", Side.BUY, Decimal(1), ts_init=2 * MIN))
    assert new == "sim-3"  # the id sequence continued
    assert [f.fill_id for f in second.fills_for("buy")] == ["sim-1-1"]


def test_exchange_when_state_file_corrupt_then_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "exchange.json"
    path.write_text('{"version": 1, "orders": [')
    with pytest.raises(DataError, match="never rewritten blindly"):
        load_exchange(path, ExchangeModel(), clock=lambda: 0)
    assert path.read_text() == '{"version": 1, "orders": ['
