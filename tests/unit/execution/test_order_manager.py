"""The order manager: journal before send, timeouts stay in flight, fills exactly once."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.enums import Side
from tradeloop.domain.order_lifecycle import InvalidTransition, OrderState, client_order_id
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.order_manager import (
    OrderManager,
    UnknownOrderFill,
    VenueFill,
    VenueOrderStatus,
)
from tradeloop.testing.orders import InMemoryOrderJournal, ScriptedGateway


def _order(qty: str = "100", intent: str = "enter") -> SubmitOrder:
    cid = client_order_id("sma_cross", "SPY", 1_700_000_000, intent)
    return SubmitOrder(cid, "SPY", Side.BUY, Decimal(qty), ts_init=1)


def _manager() -> tuple[OrderManager, InMemoryOrderJournal, ScriptedGateway]:
    journal, gateway = InMemoryOrderJournal(), ScriptedGateway()
    return OrderManager(journal, gateway, clock=lambda: 5), journal, gateway


def test_client_order_id_when_same_decision_then_same_id_else_different() -> None:
    a = client_order_id("s", "SPY", 10, "enter")
    assert a == client_order_id("s", "SPY", 10, "enter")
    assert len(a) == 32
    assert a != client_order_id("s", "SPY", 10, "exit")
    assert a != client_order_id("s", "SPY", 11, "enter")


def test_submit_when_sent_then_journaled_first_and_never_sent_twice() -> None:
    manager, journal, gateway = _manager()
    seen_in_journal = []
    original_send = gateway.send

    def send(order: SubmitOrder) -> str:
        stored = journal.get(order.client_order_id)
        seen_in_journal.append(stored.state if stored else None)
        return original_send(order)

    gateway.send = send  # type: ignore[method-assign]
    first = manager.submit(_order())
    again = manager.submit(_order())  # a restarted strategy re-deciding the same signal
    assert seen_in_journal == [OrderState.PENDING]
    assert first.state is OrderState.SUBMITTED
    assert again == first
    assert gateway.sends == [first.client_order_id]


def test_submit_when_timeout_then_in_flight_not_rejected_and_settle_adopts_venue() -> None:
    manager, _journal, gateway = _manager()
    gateway.next_outcome = "timeout"  # the venue got it, the answer was lost
    order = manager.submit(_order())
    assert order.state is OrderState.SUBMITTED
    assert "unconfirmed" in order.reason
    gateway.reachable = False
    assert manager.settle()[0].state is OrderState.SUBMITTED  # still unknown: stays in flight
    gateway.reachable = True
    settled = manager.settle()
    assert [o.state for o in settled] == [OrderState.ACCEPTED]
    assert gateway.sends == [order.client_order_id]  # asked, not re-sent


def test_settle_when_venue_never_received_then_sent_again_with_same_id() -> None:
    manager, journal, gateway = _manager()
    gateway.next_outcome = "lost"
    order = manager.submit(_order())
    assert order.state is OrderState.SUBMITTED
    manager.settle()
    assert gateway.sends == [order.client_order_id, order.client_order_id]
    assert list(gateway.received) == [order.client_order_id]
    assert journal.in_flight()[0].venue_order_id == "v-1"


def test_submit_when_venue_rejects_then_rejected_with_reason() -> None:
    manager, _, gateway = _manager()
    gateway.next_outcome = "reject"
    order = manager.submit(_order())
    assert order.state is OrderState.REJECTED
    assert "insufficient buying power" in order.reason


def test_fill_when_unknown_order_or_overfill_then_refused_and_nothing_changes() -> None:
    manager, journal, _ = _manager()
    order = manager.submit(_order("10"))
    with pytest.raises(UnknownOrderFill):
        manager.on_fill(VenueFill("f0", "nope", Decimal(1), Decimal(1), Decimal(0), 9))
    manager.on_fill(VenueFill("f1", order.client_order_id, Decimal(6), Decimal(10), Decimal(0), 9))
    with pytest.raises(ValueError, match="exceed"):
        manager.on_fill(
            VenueFill("f2", order.client_order_id, Decimal(5), Decimal(10), Decimal(0), 9)
        )
    assert list(journal.fill_ids) == ["f1"]
    assert journal.orders[order.client_order_id].filled_quantity == Decimal(6)


def test_status_when_filled_order_then_cancel_cannot_undo_it() -> None:
    manager, _, _ = _manager()
    order = manager.submit(_order("10"))
    manager.on_fill(VenueFill("f1", order.client_order_id, Decimal(10), Decimal(10), Decimal(0), 9))
    late = manager.on_status(VenueOrderStatus(order.client_order_id, OrderState.CANCELED))
    assert late is not None
    assert late.state is OrderState.FILLED
    with pytest.raises(InvalidTransition):
        late.moved(OrderState.CANCELED, 10)


def test_fill_when_order_already_canceled_then_money_still_booked() -> None:
    manager, _, _ = _manager()
    order = manager.submit(_order("10"))
    manager.on_status(VenueOrderStatus(order.client_order_id, OrderState.CANCELED))
    after = manager.on_fill(
        VenueFill("late", order.client_order_id, Decimal(4), Decimal(11), Decimal(0), 9)
    )
    assert after is not None
    assert (after.state, after.filled_quantity) == (OrderState.CANCELED, Decimal(4))


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(st.integers(1, 20), min_size=1, max_size=8),
    duplicates=st.lists(st.integers(0, 7), max_size=10),
    seed=st.integers(0, 10_000),
    ack_first=st.booleans(),
)
def test_fills_when_duplicated_and_reordered_then_each_applied_exactly_once(
    parts: list[int], duplicates: list[int], seed: int, ack_first: bool
) -> None:
    booked: list[str] = []
    journal, gateway = InMemoryOrderJournal(), ScriptedGateway()
    manager = OrderManager(
        journal, gateway, clock=lambda: 5, on_fill=lambda fill, _: booked.append(fill.fill_id)
    )
    order = manager.submit(_order(str(sum(parts))))
    fills = [
        VenueFill(
            f"f{i}", order.client_order_id, Decimal(q), Decimal(100 + i), Decimal("0.5"), 10 + i
        )
        for i, q in enumerate(parts)
    ]
    stream = fills + [fills[d % len(fills)] for d in duplicates]
    random.Random(seed).shuffle(stream)
    if ack_first:
        manager.on_status(VenueOrderStatus(order.client_order_id, OrderState.ACCEPTED))
    for fill in stream:
        manager.on_fill(fill)
    final = journal.orders[order.client_order_id]
    assert sorted(booked) == sorted(f.fill_id for f in fills)
    assert final.state is OrderState.FILLED
    assert final.filled_quantity == Decimal(sum(parts))
    vwap = sum(Decimal(q) * Decimal(100 + i) for i, q in enumerate(parts)) / Decimal(sum(parts))
    assert abs(final.average_price - vwap) < Decimal("1e-20")
