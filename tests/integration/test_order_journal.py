"""The SQL order journal on SQLite and PostgreSQL: the order manager's guarantees hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from tradeloop.domain.enums import Side
from tradeloop.domain.order_lifecycle import OrderState, client_order_id
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.order_manager import OrderManager, UnknownOrderFill, VenueFill
from tradeloop.store.sql.order_journal import SqlOrderJournal
from tradeloop.testing.orders import ScriptedGateway


def _order(intent: str, qty: str = "10") -> SubmitOrder:
    return SubmitOrder(
        client_order_id("s", "SPY", 1, intent), "SPY", Side.SELL, Decimal(qty), ts_init=1
    )


def test_journal_when_fills_repeat_then_applied_once_and_order_survives_restart(
    engine: Engine,
) -> None:
    gateway = ScriptedGateway()
    booked: list[str] = []
    manager = OrderManager(
        SqlOrderJournal(engine, "run-1", "paper"),
        gateway,
        lambda: 7,
        on_fill=lambda fill, _: booked.append(fill.fill_id),
    )
    order = manager.submit(_order("enter", "10.5"))
    fill = VenueFill(
        "f1", order.client_order_id, Decimal("4.25"), Decimal("101.5"), Decimal("0.01"), 9
    )
    assert manager.on_fill(fill) is not None
    assert manager.on_fill(fill) is None  # replayed after a reconnect
    second = VenueFill(
        "f2", order.client_order_id, Decimal("6.25"), Decimal("102"), Decimal("0.01"), 10
    )
    final = manager.on_fill(second)
    assert final is not None
    assert final.state is OrderState.FILLED
    assert booked == ["f1", "f2"]

    restarted = OrderManager(SqlOrderJournal(engine, "run-1", "paper"), gateway, lambda: 8)
    again = restarted.submit(_order("enter", "10.5"))
    assert again.state is OrderState.FILLED  # found in the journal: not sent again
    assert gateway.sends == [order.client_order_id]
    assert again.filled_quantity == Decimal("10.5")
    expected = (Decimal("4.25") * Decimal("101.5") + Decimal("6.25") * 102) / Decimal("10.5")
    assert abs(again.average_price - expected) < Decimal("1e-9")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT fill_id, symbol, side FROM fills ORDER BY fill_id"))
        assert [tuple(r) for r in rows] == [("f1", "SPY", "SELL"), ("f2", "SPY", "SELL")]


def test_journal_when_overfill_or_unknown_order_then_transaction_rolled_back(
    engine: Engine,
) -> None:
    manager = OrderManager(SqlOrderJournal(engine, "run-2", "paper"), ScriptedGateway(), lambda: 7)
    order = manager.submit(_order("exit", "5"))
    with pytest.raises(ValueError, match="exceed"):
        manager.on_fill(
            VenueFill("big", order.client_order_id, Decimal(6), Decimal(1), Decimal(0), 9)
        )
    with pytest.raises(UnknownOrderFill):
        manager.on_fill(VenueFill("orphan", "tl-unknown", Decimal(1), Decimal(1), Decimal(0), 9))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM fills")).scalar() == 0


def test_journal_when_timeout_then_in_flight_until_settled(engine: Engine) -> None:
    gateway = ScriptedGateway()
    journal = SqlOrderJournal(engine, "run-3", "live")
    manager = OrderManager(journal, gateway, lambda: 7)
    gateway.next_outcome = "timeout"
    order = manager.submit(_order("enter"))
    assert [o.client_order_id for o in journal.in_flight()] == [order.client_order_id]
    assert SqlOrderJournal(engine, "other-run", "live").in_flight() == []
    manager.settle()
    assert journal.in_flight() == []
    assert journal.get(order.client_order_id).state is OrderState.ACCEPTED  # type: ignore[union-attr]


def test_journal_when_another_order_reuses_a_fill_id_then_refused_not_skipped(
    engine: Engine,
) -> None:
    from tradeloop.core.errors import DataError

    gateway = ScriptedGateway()
    first = OrderManager(SqlOrderJournal(engine, "acct-a", "paper"), gateway, lambda: 1)
    second = OrderManager(SqlOrderJournal(engine, "acct-b", "paper"), gateway, lambda: 1)
    a = first.submit(SubmitOrder("a-1", "SPY", Side.BUY, Decimal(1), ts_init=1))
    b = second.submit(SubmitOrder("b-1", "SPY", Side.BUY, Decimal(1), ts_init=1))
    fill = VenueFill("sim-1-1", a.client_order_id, Decimal(1), Decimal(10), Decimal(0), 2)
    assert first.on_fill(fill) is not None
    clash = VenueFill("sim-1-1", b.client_order_id, Decimal(1), Decimal(11), Decimal(0), 2)
    with pytest.raises(DataError, match="already stored for order a-1"):
        second.on_fill(clash)  # silently skipping it would lose the second account's fill
    assert second.journal.get("b-1").filled_quantity == 0  # type: ignore[union-attr]
