"""The simulated exchange's documented fill semantics, driven through the order manager."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.margin import liquidation_price
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.order_manager import OrderManager, VenueFill
from tradeloop.execution.sim_exchange import ExchangeModel, SimulatedExchange
from tradeloop.testing.orders import InMemoryOrderJournal

DAY_NS = 86_400_000_000_000
MIN_NS = 60_000_000_000


class World:
    def __init__(self, **model: Any) -> None:
        self.now = 0
        self.exchange = SimulatedExchange(ExchangeModel(**model), clock=lambda: self.now)
        self.journal = InMemoryOrderJournal()
        self.manager = OrderManager(self.journal, self.exchange, clock=lambda: self.now)
        self.fills: list[VenueFill] = []

    def order(self, cid: str, side: Side, qty: str, **kw: Any) -> str:
        self.manager.submit(SubmitOrder(cid, "SPY", side, Decimal(qty), ts_init=self.now, **kw))
        return cid

    def bar(self, ts: int, o: float, h: float, lo: float, c: float, v: float = 1e6) -> None:
        self.now = ts
        for event in self.exchange.on_bar(BarView("SPY", ts, o, h, lo, c, v)):
            if isinstance(event, VenueFill):
                self.fills.append(event)
                self.manager.on_fill(event)
            else:
                self.manager.on_status(event)

    def state(self, cid: str) -> OrderState:
        return self.journal.orders[cid].state


def test_market_order_when_next_bar_then_fills_at_open_with_slippage_and_fees() -> None:
    world = World(fee_bps=10, fee_fixed=1.0, slippage_bps=20)
    world.order("m", Side.BUY, "10")
    world.bar(MIN_NS, 100, 101, 99, 100.5)
    (fill,) = world.fills
    assert fill.price == Decimal("100.2")  # 100 * (1 + 20 bps)
    assert fill.commission == Decimal("10") * Decimal("100.2") * Decimal("0.001") + 1
    assert world.state("m") is OrderState.FILLED
    assert world.exchange.positions["SPY"] == Decimal(10)


@pytest.mark.parametrize(
    ("side", "limit", "bar", "price"),
    [
        (Side.BUY, "99", (98.0, 99.5, 97.0, 99.0), "98.0"),  # gap below the limit: open
        (Side.BUY, "99", (100.0, 101.0, 98.5, 100.0), "99"),  # touched: at the limit
        (Side.BUY, "99", (100.0, 101.0, 99.5, 100.0), None),  # never reached
        (Side.SELL, "101", (102.0, 103.0, 101.5, 102.0), "102.0"),
        (Side.SELL, "101", (100.0, 101.5, 99.0, 100.0), "101"),
    ],
)
def test_limit_order_when_touched_or_gapped_then_documented_price(
    side: Side, limit: str, bar: tuple[float, float, float, float], price: str | None
) -> None:
    world = World(fee_bps=0)
    world.order("l", side, "5", order_type=OrderType.LIMIT, limit_price=Decimal(limit))
    world.bar(MIN_NS, *bar)
    assert [f.price for f in world.fills] == ([Decimal(price)] if price else [])


@pytest.mark.parametrize(
    ("side", "stop", "bar", "price"),
    [
        (Side.SELL, "95", (94.0, 96.0, 93.0, 95.0), "94.0"),  # gapped through: at the open
        (Side.SELL, "95", (96.0, 97.0, 94.5, 95.0), "95"),  # touched: at the stop
        (Side.BUY, "105", (104.0, 106.0, 103.0, 105.5), "105"),
        (Side.BUY, "105", (104.0, 104.5, 103.0, 104.0), None),
    ],
)
def test_stop_order_when_triggered_then_documented_price(
    side: Side, stop: str, bar: tuple[float, float, float, float], price: str | None
) -> None:
    world = World(fee_bps=0)
    world.order("s", side, "5", order_type=OrderType.STOP, stop_price=Decimal(stop))
    world.bar(MIN_NS, *bar)
    assert [f.price for f in world.fills] == ([Decimal(price)] if price else [])


def test_participation_cap_when_order_large_then_partial_fills_over_bars() -> None:
    world = World(fee_bps=0, max_participation=0.1)
    world.order("big", Side.BUY, "250")
    world.bar(MIN_NS, 100, 100, 100, 100, v=1000)
    assert world.state("big") is OrderState.PARTIALLY_FILLED
    world.bar(2 * MIN_NS, 100, 100, 100, 100, v=1000)
    world.bar(3 * MIN_NS, 100, 100, 100, 100, v=0)  # no volume: nothing
    world.bar(4 * MIN_NS, 100, 100, 100, 100, v=1000)
    assert [f.quantity for f in world.fills] == [Decimal(100), Decimal(100), Decimal(50)]
    assert world.state("big") is OrderState.FILLED


def test_ioc_when_not_fully_filled_then_remainder_canceled() -> None:
    world = World(fee_bps=0, max_participation=0.1)
    world.order("ioc", Side.BUY, "250", time_in_force=TimeInForce.IOC)
    world.bar(MIN_NS, 100, 100, 100, 100, v=1000)
    world.bar(2 * MIN_NS, 100, 100, 100, 100, v=1000)
    order = world.journal.orders["ioc"]
    assert (order.state, order.filled_quantity) == (OrderState.CANCELED, Decimal(100))


def test_day_order_when_session_ends_unfilled_then_expired() -> None:
    world = World(fee_bps=0)
    world.order(
        "day",
        Side.BUY,
        "1",
        order_type=OrderType.LIMIT,
        limit_price=Decimal(50),
        time_in_force=TimeInForce.DAY,
    )
    world.bar(MIN_NS, 100, 100, 99, 100)
    assert world.state("day") is OrderState.SUBMITTED  # resting (ack comes via status)
    world.bar(DAY_NS + MIN_NS, 49, 49, 48, 49)  # would fill, but the session is over
    assert world.fills == []
    assert world.state("day") is OrderState.EXPIRED


def test_latency_when_bar_too_early_then_order_waits() -> None:
    world = World(fee_bps=0, latency_ms=90_000)
    world.order("late", Side.BUY, "1")
    world.bar(MIN_NS, 100, 100, 100, 100)
    assert world.fills == []
    world.bar(2 * MIN_NS, 101, 101, 101, 101)
    assert [f.price for f in world.fills] == [Decimal("101.0")]


def test_short_sale_when_disabled_then_rejected_else_allowed() -> None:
    world = World(fee_bps=0, allow_short=False)
    world.order("short", Side.SELL, "1")
    assert world.state("short") is OrderState.REJECTED
    assert "short selling disabled" in world.journal.orders["short"].reason
    allowed = World(fee_bps=0)
    allowed.order("short", Side.SELL, "3")
    allowed.bar(MIN_NS, 100, 100, 100, 100)
    assert allowed.exchange.positions["SPY"] == Decimal(-3)


def test_duplicate_client_id_when_sent_twice_then_one_order() -> None:
    world = World()
    order = SubmitOrder("dup", "SPY", Side.BUY, Decimal(1), ts_init=0)
    assert world.exchange.send(order) == world.exchange.send(order)
    events = world.exchange.on_bar(BarView("SPY", MIN_NS, 100, 100, 100, 100, 1e6))
    assert [type(e).__name__ for e in events] == ["VenueFill"]
    assert world.exchange.positions["SPY"] == Decimal(1)


def test_liquidation_price_when_leveraged_then_inside_the_margin() -> None:
    long = liquidation_price(Side.BUY, Decimal(100), Decimal(10), Decimal("0.005"))
    short = liquidation_price(Side.SELL, Decimal(100), Decimal(10), Decimal("0.005"))
    assert long == Decimal("90.500")
    assert short == Decimal("109.500")
    assert liquidation_price(Side.BUY, Decimal(100), Decimal(1), Decimal(0)) == 0
    with pytest.raises(ValueError, match="leverage"):
        liquidation_price(Side.BUY, Decimal(100), Decimal(0), Decimal(0))


def test_buy_when_open_gaps_beyond_cash_then_canceled_and_sells_still_fill() -> None:
    cash = {"usd": Decimal(10_000)}
    world = World(fee_bps=10, max_gross_leverage=1.0)
    world.exchange = SimulatedExchange(
        ExchangeModel(fee_bps=10, max_gross_leverage=1.0),
        clock=lambda: world.now,
        cash=lambda: cash["usd"],
    )
    world.manager = OrderManager(world.journal, world.exchange, clock=lambda: world.now)
    world.order("fits", Side.BUY, "50")
    world.order("gapped", Side.BUY, "49")  # 99 x 105 + fees > 10,000: must not fill
    world.bar(MIN_NS, 105, 106, 104, 105)
    assert world.state("fits") is OrderState.FILLED
    assert world.state("gapped") is OrderState.CANCELED
    assert world.journal.orders["gapped"].reason.startswith("insufficient buying power")
    (fill,) = world.fills
    cash["usd"] -= fill.quantity * fill.price + fill.commission  # the ledger books it
    world.order("exit", Side.SELL, "50")  # reducing exposure is never held back
    world.bar(2 * MIN_NS, 50, 51, 49, 50)
    assert world.state("exit") is OrderState.FILLED
    assert world.exchange.positions["SPY"] == 0
