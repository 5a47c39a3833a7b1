"""The Alpaca venue against a fake Alpaca on 127.0.0.1: the faults the runbooks name
beyond the contract every venue passes (tests/contracts/test_venue_contract.py).

Pass criterion for each: no duplicate order at the venue, no lost fill, and the order
manager's state right after settling or reconciling.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tradeloop.adapters.venues.alpaca import AlpacaVenue
from tradeloop.domain.enums import OrderType, Side
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import OrderManager, VenueFill
from tradeloop.execution.reconcile import reconcile
from tradeloop.testing.fake_alpaca import KEY, SECRET, FakeAlpaca

BAR = BarView("SPY", 0, 1.0, 1.0, 1.0, 1.0, 1.0)


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    with FakeAlpaca() as server:
        yield server


def _venue(fake: FakeAlpaca, timeout_s: float = 2.0) -> AlpacaVenue:
    return AlpacaVenue(fake.url, KEY, SECRET, timeout_s=timeout_s, sleep=lambda s: None)


def _manager(venue: AlpacaVenue, booked: list[VenueFill] | None = None) -> OrderManager:
    return OrderManager(
        InMemoryOrderJournal(),
        venue,
        lambda: 1,
        on_fill=(lambda fill, order: booked.append(fill)) if booked is not None else None,
    )


def _order(cid: str = "tl-1", qty: str = "10", **kw: object) -> SubmitOrder:
    return SubmitOrder(cid, "SPY", Side.BUY, Decimal(qty), ts_init=1, **kw)  # type: ignore[arg-type]


def test_send_when_429_then_503_then_ok_then_sent_once(fake: FakeAlpaca) -> None:
    manager = _manager(_venue(fake))
    fake.fail_next(429, 503)
    assert manager.submit(_order()).state is OrderState.SUBMITTED
    assert manager.journal.get("tl-1").venue_order_id == "fa-1"  # type: ignore[union-attr]
    assert len(fake.orders) == 1


def test_send_when_5xx_persists_then_unknown_not_rejected(fake: FakeAlpaca) -> None:
    manager = _manager(_venue(fake))
    fake.fail_next(500, 502, 503, 504)
    order = manager.submit(_order())
    assert order.state is OrderState.SUBMITTED
    assert "after 4 tries" in order.reason


def test_send_when_venue_rejects_then_rejected_with_its_code(fake: FakeAlpaca) -> None:
    manager = _manager(_venue(fake))
    fake.reject_next(403, 40310000, "insufficient buying power")
    order = manager.submit(_order())
    assert order.state is OrderState.REJECTED
    assert "40310000" in order.reason
    assert "insufficient buying power" in order.reason


def test_fills_when_duplicated_and_reordered_then_each_applied_once(fake: FakeAlpaca) -> None:
    booked: list[VenueFill] = []
    venue = _venue(fake)
    manager = _manager(venue, booked)
    manager.submit(_order(qty="10"))
    fake.fill("tl-1", "4", "100.5")
    fake.fill("tl-1", "6", "101")
    fake.faults.duplicate_fills = fake.faults.reverse_fills = True
    for _ in range(2):  # the same reports again on the next poll
        for event in venue.on_bar(BAR):
            assert isinstance(event, VenueFill)
            manager.on_fill(event)
        venue._fills_after = None
    final = manager.journal.get("tl-1")
    assert final is not None
    assert final.state is OrderState.FILLED
    assert final.filled_quantity == Decimal(10)
    assert sorted(f.quantity for f in booked) == [Decimal(4), Decimal(6)]


def test_partial_fill_then_partially_filled_and_cancel_keeps_the_fill(fake: FakeAlpaca) -> None:
    venue = _venue(fake)
    manager = _manager(venue)
    manager.submit(_order(qty="10", order_type=OrderType.LIMIT, limit_price=Decimal("99")))
    fake.fill("tl-1", "3", "99")
    for event in venue.on_bar(BAR):
        manager.on_fill(event)  # type: ignore[arg-type]
    assert manager.journal.get("tl-1").state is OrderState.PARTIALLY_FILLED  # type: ignore[union-attr]
    canceled = venue.cancel("tl-1")
    assert canceled is not None
    assert canceled.state is OrderState.CANCELED
    assert canceled.filled_quantity == Decimal(3)
    assert fake.orders["tl-1"].body["limit_price"] == "99"


def test_disconnect_when_venue_down_then_unknown_and_settled_after(fake: FakeAlpaca) -> None:
    dead = AlpacaVenue("http://127.0.0.1:9", KEY, SECRET, timeout_s=0.5, sleep=lambda s: None)
    journal = InMemoryOrderJournal()
    order = OrderManager(journal, dead, lambda: 1).submit(_order())
    assert order.state is OrderState.SUBMITTED
    assert "connection failed" in order.reason
    back = OrderManager(journal, _venue(fake), lambda: 2)
    [settled] = back.settle()  # never received: sent now, once
    assert settled.state is OrderState.SUBMITTED
    assert len(fake.orders) == 1


def test_reconcile_when_fill_happened_while_we_were_down_then_applied_and_positions_agree(
    fake: FakeAlpaca,
) -> None:
    booked: list[VenueFill] = []
    venue = _venue(fake)
    manager = _manager(venue, booked)
    manager.submit(_order(qty="10"))
    fake.fill("tl-1", "10", "100")  # we never polled it: crashed
    held: dict[str, Decimal] = {}

    def ledger() -> dict[str, Decimal]:
        for fill in booked:
            held["SPY"] = held.get("SPY", Decimal(0)) + fill.quantity
        booked.clear()
        return held

    outcome = reconcile(manager, venue, ["tl-1"], ledger, venue.positions())
    assert outcome.safe, outcome.refusals
    assert any("applied missing fill" in line for line in outcome.corrections)
    assert held == {"SPY": Decimal(10)}


def test_credentials_when_errors_and_logs_then_never_shown(
    fake: FakeAlpaca, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = AlpacaVenue(fake.url, KEY, "not-the-secret", sleep=lambda s: None)
    order = _manager(wrong).submit(_order())
    assert order.state is OrderState.REJECTED  # 401: refused, named
    text = order.reason + repr(wrong) + caplog.text
    assert "not-the-secret" not in text
    assert SECRET not in text
    assert "40110000" in order.reason
