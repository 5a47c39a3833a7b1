"""What every venue promises the order path, run against each of them: the simulated
exchange, Alpaca and Bybit (the last two against their fakes on 127.0.0.1). A new venue
gets a harness here and must pass the same tests (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from tradeloop.domain.enums import OrderType, Side
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import OrderManager, VenueFill
from tradeloop.execution.venue import Exchange
from tradeloop.testing.services import optional_module

MIN = 60_000_000_000


@dataclass
class Harness:
    """One venue under test, and how to make it do what a test needs."""

    venue: Exchange
    symbol: str
    quantity: Decimal
    far_limit: Decimal  # a buy limit this far below the market rests
    fill: Callable[[str, Decimal, Decimal], None]  # the venue fills (id, qty, price)
    bar: BarView  # the bar offered to on_bar after a fill (a live venue polls on it)
    orders_held: Callable[[], int]  # orders the venue itself holds
    remote: Remote | None = None  # the faults of a venue across a network


@dataclass
class Remote:
    """A fake venue server's faults, named the same for every remote venue."""

    slow_next_send: Callable[[float], None]
    lag_next_lookup: Callable[[], None]  # the next lookup does not find the order yet
    sends: Callable[[], int]  # order submissions the server received


def _simulated() -> Iterator[Harness]:
    from tradeloop.execution.config import ExecutionConfig
    from tradeloop.execution.engine import exchange_model
    from tradeloop.execution.sim_exchange import SimulatedExchange

    clock = {"now": 0}
    venue = SimulatedExchange(
        exchange_model(ExecutionConfig(commission_rate=0.0, latency_ms=0)), lambda: clock["now"]
    )
    # The simulated venue fills at the next bar's open: the "fill" is that bar.
    bar = BarView("SPY", MIN, 100.0, 101.0, 99.5, 100.5, 1e6)

    def fill(client_order_id: str, quantity: Decimal, price: Decimal) -> None:
        clock["now"] = MIN

    yield Harness(venue, "SPY", Decimal(10), Decimal(50), fill, bar, lambda: len(venue._orders))


def _alpaca() -> Iterator[Harness]:
    from tradeloop.adapters.venues.alpaca import AlpacaVenue
    from tradeloop.testing.fake_alpaca import KEY, SECRET, FakeAlpaca

    with FakeAlpaca() as fake:
        venue = AlpacaVenue(fake.url, KEY, SECRET, timeout_s=0.3, sleep=lambda s: None)

        def fill(client_order_id: str, quantity: Decimal, price: Decimal) -> None:
            fake.fill(client_order_id, str(quantity), str(price))

        bar = BarView("SPY", MIN, 1.0, 1.0, 1.0, 1.0, 1.0)
        yield Harness(
            venue,
            "SPY",
            Decimal(10),
            Decimal(50),
            fill,
            bar,
            lambda: len(fake.orders),
            Remote(fake.slow_next_post, lambda: fake.hide_next_lookups(1), lambda: fake.posts),
        )


def _bybit() -> Iterator[Harness]:
    optional_module("ccxt", "the Bybit venue needs ccxt (tradeloop[crypto])")
    from tradeloop.adapters.venues.bybit import BybitVenue
    from tradeloop.testing.fake_bybit import KEY, SECRET, FakeBybit

    with FakeBybit() as fake:
        venue = BybitVenue(KEY, SECRET, base_url=fake.url, timeout_s=0.3, sleep=lambda s: None)

        def fill(client_order_id: str, quantity: Decimal, price: Decimal) -> None:
            fake.fill(client_order_id, str(quantity), str(price))

        bar = BarView("BTCUSDT", MIN, 1.0, 1.0, 1.0, 1.0, 1.0)
        yield Harness(
            venue,
            "BTCUSDT",
            Decimal("0.5"),
            Decimal(30_000),
            fill,
            bar,
            lambda: len(fake.orders),
            # a lookup reads the realtime and the history endpoints: both lag
            Remote(fake.slow_next_post, lambda: fake.hide_next_lookups(2), lambda: fake.creates),
        )


HARNESSES = {"simulated": _simulated, "alpaca": _alpaca, "bybit_v5": _bybit}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from HARNESSES[request.param]()


@pytest.fixture(params=["alpaca", "bybit_v5"])
def remote(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The venues across a network: they can time out and lag."""
    yield from HARNESSES[request.param]()


def _manager(harness: Harness, booked: list[VenueFill]) -> OrderManager:
    return OrderManager(
        InMemoryOrderJournal(),
        harness.venue,
        lambda: 1,
        on_fill=lambda fill, order: booked.append(fill),
    )


def _order(harness: Harness, cid: str = "tl-1", limit: Decimal | None = None) -> SubmitOrder:
    return SubmitOrder(
        cid,
        harness.symbol,
        Side.BUY,
        harness.quantity,
        ts_init=1,
        order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit,
    )


def test_venue_when_order_sent_then_held_once_and_known_by_our_id(harness: Harness) -> None:
    manager = _manager(harness, [])
    sent = manager.submit(_order(harness))
    assert sent.state in (OrderState.SUBMITTED, OrderState.ACCEPTED)
    status = harness.venue.query("tl-1")
    assert status is not None
    assert status.client_order_id == "tl-1"
    assert harness.orders_held() == 1


def test_venue_when_same_id_sent_again_then_still_one_order(harness: Harness) -> None:
    first = harness.venue.send(_order(harness))
    again = harness.venue.send(_order(harness))  # a re-send after an unknown outcome
    assert again == first
    assert harness.orders_held() == 1


def test_venue_when_id_never_sent_then_query_says_none(harness: Harness) -> None:
    assert harness.venue.query("never-sent") is None


def test_venue_when_limit_rests_then_listed_open_and_cancel_closes_it(harness: Harness) -> None:
    manager = _manager(harness, [])
    manager.submit(_order(harness, limit=harness.far_limit))
    assert [s.client_order_id for s in harness.venue.open_orders()] == ["tl-1"]
    canceled = harness.venue.cancel("tl-1")
    assert canceled is not None
    assert canceled.state is OrderState.CANCELED
    assert harness.venue.open_orders() == []


def test_venue_when_fill_reported_twice_then_booked_once_and_listed(harness: Harness) -> None:
    booked: list[VenueFill] = []
    manager = _manager(harness, booked)
    manager.submit(_order(harness))
    harness.fill("tl-1", harness.quantity, Decimal(100))
    events = [e for e in harness.venue.on_bar(harness.bar) if isinstance(e, VenueFill)]
    for event in [*events, *events]:  # the same report twice (a replayed poll)
        manager.on_fill(event)
    order = manager.journal.get("tl-1")
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.filled_quantity == harness.quantity
    assert sum(f.quantity for f in booked) == harness.quantity
    recorded = harness.venue.fills_for("tl-1")
    assert sum(f.quantity for f in recorded) == harness.quantity


def test_venue_when_answer_times_out_then_in_flight_and_settled_without_a_second_order(
    remote: Harness,
) -> None:
    harness = remote
    assert harness.remote is not None
    manager = _manager(harness, [])
    harness.remote.slow_next_send(1.0)
    order = manager.submit(_order(harness))
    assert order.state is OrderState.SUBMITTED  # never REJECTED on a timeout
    assert order.reason.startswith("unconfirmed")
    [settled] = manager.settle()
    assert settled.state is OrderState.ACCEPTED
    assert harness.orders_held() == 1


def test_venue_when_order_briefly_not_found_then_resent_with_same_id_and_held_once(
    remote: Harness,
) -> None:
    harness = remote
    assert harness.remote is not None
    manager = _manager(harness, [])
    harness.remote.slow_next_send(1.0)
    manager.submit(_order(harness))
    harness.remote.lag_next_lookup()  # the venue's read side lags its write side
    [settled] = manager.settle()  # not found -> re-sent with the same id -> looked up
    assert settled.state is OrderState.SUBMITTED  # sent and acknowledged: no longer unknown
    assert settled.reason == "sent"
    assert harness.remote.sends() == 2
    assert harness.orders_held() == 1
