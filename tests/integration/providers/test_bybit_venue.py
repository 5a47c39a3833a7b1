# ruff: noqa: E402  (imports of the optional module follow its check)
"""The Bybit V5 venue (through ccxt) against a fake Bybit on 127.0.0.1: every fault the
runbooks name, plus Bybit's maker_only / post_only / reduce_only semantics.

Pass criterion for each: no duplicate order at the venue, no lost fill, and the order
manager's state right after settling or reconciling.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tradeloop.testing.services import optional_module

optional_module("ccxt", "the ccxt venue needs ccxt (pip install 'tradeloop[crypto]')")

from tradeloop.adapters.venues.bybit import BybitVenue
from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import OrderManager, VenueFill
from tradeloop.execution.reconcile import reconcile
from tradeloop.testing.fake_bybit import KEY, SECRET, FakeBybit

BAR = BarView("BTCUSDT", 0, 1.0, 1.0, 1.0, 1.0, 1.0)


@pytest.fixture
def fake() -> Iterator[FakeBybit]:
    with FakeBybit() as server:
        yield server


def _venue(fake: FakeBybit, timeout_s: float = 2.0, **options: bool) -> BybitVenue:
    return BybitVenue(
        KEY, SECRET, base_url=fake.url, timeout_s=timeout_s, sleep=lambda s: None, **options
    )


def _manager(venue: BybitVenue, booked: list[VenueFill] | None = None) -> OrderManager:
    return OrderManager(
        InMemoryOrderJournal(),
        venue,
        lambda: 1,
        on_fill=(lambda fill, order: booked.append(fill)) if booked is not None else None,
    )


def _order(cid: str = "tl-1", qty: str = "0.5", side: Side = Side.BUY, **kw: object) -> SubmitOrder:
    return SubmitOrder(cid, "BTCUSDT", side, Decimal(qty), ts_init=1, **kw)  # type: ignore[arg-type]


def _limit(cid: str, side: Side, price: str, qty: str = "0.5") -> SubmitOrder:
    return _order(cid, qty, side, order_type=OrderType.LIMIT, limit_price=Decimal(price))


def _poll(venue: BybitVenue, manager: OrderManager) -> None:
    for event in venue.on_bar(BAR):
        assert isinstance(event, VenueFill)
        manager.on_fill(event)


def test_send_signs_the_request_and_the_fake_checks_it(fake: FakeBybit) -> None:
    order = _manager(_venue(fake)).submit(_order())
    assert order.state is OrderState.SUBMITTED
    body = fake.orders["tl-1"].body
    assert body["category"] == "linear"
    assert (body["side"], body["orderType"], body["qty"]) == ("Buy", "Market", "0.5")


def test_disconnect_after_the_venue_took_the_order_then_unknown_and_one_order(
    fake: FakeBybit,
) -> None:
    manager = _manager(_venue(fake))
    fake.disconnect_next(after_taking=True)
    order = manager.submit(_order())
    assert order.state is OrderState.SUBMITTED  # the retry met 110072 and found it
    assert fake.creates == 2
    assert len(fake.orders) == 1
    [settled] = manager.settle()
    assert settled.state is OrderState.ACCEPTED


def test_disconnect_when_venue_down_then_unknown_and_settled_after(fake: FakeBybit) -> None:
    dead = BybitVenue(
        KEY, SECRET, base_url="http://127.0.0.1:9", timeout_s=0.5, sleep=lambda s: None
    )
    journal = InMemoryOrderJournal()
    order = OrderManager(journal, dead, lambda: 1).submit(_order())
    assert order.state is OrderState.SUBMITTED
    assert order.reason.startswith("unconfirmed")
    back = OrderManager(journal, _venue(fake), lambda: 2)
    [settled] = back.settle()  # never received: sent now, once
    assert settled.state is OrderState.SUBMITTED
    assert len(fake.orders) == 1


def test_send_when_rate_limited_then_bad_gateway_then_ok_then_sent_once(fake: FakeBybit) -> None:
    manager = _manager(_venue(fake))
    fake.fail_next((200, 10006), (403, 10006), (502, None))
    assert manager.submit(_order()).state is OrderState.SUBMITTED
    assert manager.journal.get("tl-1").venue_order_id == "bb-1"  # type: ignore[union-attr]
    assert len(fake.orders) == 1


def test_send_when_server_errors_persist_then_unknown_not_rejected(fake: FakeBybit) -> None:
    manager = _manager(_venue(fake))
    fake.fail_next((200, 10016), (200, 10016), (500, None), (503, None), (503, None))
    order = manager.submit(_order())
    assert order.state is OrderState.SUBMITTED
    assert "after 4 tries" in order.reason


def test_send_when_venue_rejects_then_rejected_with_its_code(fake: FakeBybit) -> None:
    manager = _manager(_venue(fake))
    fake.reject_next(110007, "ab not enough for new order")
    order = manager.submit(_order())
    assert order.state is OrderState.REJECTED
    assert "110007" in order.reason
    assert "not enough" in order.reason


def test_fills_when_duplicated_and_reordered_then_each_applied_once(fake: FakeBybit) -> None:
    booked: list[VenueFill] = []
    venue = _venue(fake)
    manager = _manager(venue, booked)
    manager.submit(_order(qty="1"))
    fake.fill("tl-1", "0.4", "60000.5", fee="0.02")
    fake.fill("tl-1", "0.6", "60001", fee="0.03")
    fake.faults.duplicate_fills = fake.faults.reverse_fills = True
    for _ in range(2):  # the same reports again on the next poll
        _poll(venue, manager)
        venue._fills_since_ms = None
    final = manager.journal.get("tl-1")
    assert final is not None
    assert final.state is OrderState.FILLED
    assert final.filled_quantity == Decimal(1)
    assert sorted(f.quantity for f in booked) == [Decimal("0.4"), Decimal("0.6")]
    assert sum(f.commission for f in booked) == Decimal("0.05")


def test_fills_when_more_than_a_page_then_none_lost(fake: FakeBybit) -> None:
    booked: list[VenueFill] = []
    venue = _venue(fake)
    manager = _manager(venue, booked)
    manager.submit(_order(qty="2.5"))
    for _ in range(250):  # 3 pages of 100
        fake.fill("tl-1", "0.01", "60000")
    _poll(venue, manager)
    assert len(booked) == 250
    assert manager.journal.get("tl-1").filled_quantity == Decimal("2.5")  # type: ignore[union-attr]


def test_partial_fill_then_partially_filled_and_cancel_keeps_the_fill(fake: FakeBybit) -> None:
    venue = _venue(fake)
    manager = _manager(venue)
    manager.submit(_limit("tl-1", Side.BUY, "59000", qty="1"))
    fake.fill("tl-1", "0.3", "59000")
    _poll(venue, manager)
    assert manager.journal.get("tl-1").state is OrderState.PARTIALLY_FILLED  # type: ignore[union-attr]
    assert [o.client_order_id for o in venue.open_orders()] == ["tl-1"]
    canceled = venue.cancel("tl-1")
    assert canceled is not None
    assert canceled.state is OrderState.CANCELED
    assert canceled.filled_quantity == Decimal("0.3")
    assert fake.orders["tl-1"].body["price"] == "59000"
    assert venue.open_orders() == []


def test_reconcile_when_fill_happened_while_we_were_down_then_applied_and_positions_agree(
    fake: FakeBybit,
) -> None:
    booked: list[VenueFill] = []
    venue = _venue(fake)
    manager = _manager(venue, booked)
    manager.submit(_order(qty="0.5"))
    fake.fill("tl-1", "0.5", "60000")  # we never polled it: crashed
    held: dict[str, Decimal] = {}

    def ledger() -> dict[str, Decimal]:
        for fill in booked:
            held["BTCUSDT"] = held.get("BTCUSDT", Decimal(0)) + fill.quantity
        booked.clear()
        return held

    outcome = reconcile(manager, venue, ["tl-1"], ledger, venue.positions())
    assert outcome.safe, outcome.refusals
    assert any("applied missing fill" in line for line in outcome.corrections)
    assert held == venue.positions() == {"BTCUSDT": Decimal("0.5")}


def test_post_only_limit_that_would_take_liquidity_then_canceled_by_the_venue(
    fake: FakeBybit,
) -> None:
    venue = _venue(fake, post_only=True)
    manager = _manager(venue)
    fake.marks["BTCUSDT"] = Decimal("60000")
    manager.submit(_limit("rests", Side.BUY, "59990"))
    manager.submit(_limit("crosses", Side.BUY, "60010"))
    assert fake.orders["rests"].body["timeInForce"] == "PostOnly"
    assert venue.query("rests").state is OrderState.ACCEPTED  # type: ignore[union-attr]
    crossed = venue.query("crosses")
    assert crossed is not None
    assert crossed.state is OrderState.CANCELED
    assert "PostOnlyWillTakeLiquidity" in crossed.reason


def test_post_only_off_then_limit_sent_good_till_canceled(fake: FakeBybit) -> None:
    _manager(_venue(fake)).submit(_limit("tl-1", Side.BUY, "59990"))
    assert fake.orders["tl-1"].body["timeInForce"] == "GTC"


def test_maker_only_then_market_orders_refused_before_sending(fake: FakeBybit) -> None:
    manager = _manager(_venue(fake, maker_only=True))
    refused = manager.submit(_order())
    assert refused.state is OrderState.REJECTED
    assert "maker_only" in refused.reason
    assert fake.creates == 0
    manager.submit(_limit("tl-2", Side.BUY, "59990"))
    assert fake.orders["tl-2"].body["timeInForce"] == "PostOnly"


def test_reduce_only_marks_exits_and_never_entries(fake: FakeBybit) -> None:
    venue = _venue(fake)
    manager = _manager(venue)
    manager.submit(_order("entry", "1"))
    fake.fill("entry", "1", "60000")
    manager.submit(_order("exit", "0.4", Side.SELL))
    manager.submit(_order("flip", "2", Side.SELL))  # more than held: opens a short
    assert "reduceOnly" not in fake.orders["entry"].body
    assert fake.orders["exit"].body["reduceOnly"] is True
    assert "reduceOnly" not in fake.orders["flip"].body


def test_reduce_only_exit_when_position_gone_then_rejected_not_reopened(fake: FakeBybit) -> None:
    venue = _venue(fake)
    manager = _manager(venue)
    manager.submit(_order("entry", "1"))
    fake.fill("entry", "1", "60000")
    body = venue._order_body(_order("exit", "1", Side.SELL))
    assert body["reduceOnly"] is True
    fake.orders["entry"].filled = Decimal(0)  # liquidated at the venue meanwhile
    fake.reject_next(110017, "Reduce-only rule not satisfied")
    exit_order = manager.submit(_order("exit", "1", Side.SELL))
    assert exit_order.state is OrderState.REJECTED
    assert "110017" in exit_order.reason
    assert fake.positions() == {}


def test_day_orders_refused_with_the_fix(fake: FakeBybit) -> None:
    order = _manager(_venue(fake)).submit(_order(time_in_force=TimeInForce.DAY))
    assert order.state is OrderState.REJECTED
    assert "GTC or IOC" in order.reason


def test_stop_order_sent_as_a_conditional_market_order(fake: FakeBybit) -> None:
    _manager(_venue(fake)).submit(
        _order("stop", "0.5", Side.SELL, order_type=OrderType.STOP, stop_price=Decimal("58000"))
    )
    body = fake.orders["stop"].body
    assert (body["orderType"], body["triggerPrice"], body["triggerDirection"]) == (
        "Market",
        "58000",
        2,
    )


def test_balance_reads_the_unified_account_equity(fake: FakeBybit) -> None:
    fake.equity = Decimal("12345.67")
    assert _venue(fake).balance() == Decimal("12345.67")


def test_credentials_when_errors_and_logs_then_never_shown(
    fake: FakeBybit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = BybitVenue(KEY, "not-the-secret", base_url=fake.url, sleep=lambda s: None)
    order = _manager(wrong).submit(_order())
    assert order.state is OrderState.REJECTED  # bad signature: refused, named
    assert "10004" in order.reason
    text = order.reason + repr(wrong) + caplog.text
    assert "not-the-secret" not in text
    assert SECRET not in text
    assert fake.orders == {}
