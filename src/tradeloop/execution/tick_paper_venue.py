"""The scalper's paper venue: limit orders against the live tape, filled by trades.

- A limit order rests. A ``post_only`` order that would take liquidity (a buy at or above
  the best ask, a sell at or below the best bid) is canceled on arrival, as Bybit does.
- A trade prints through a resting order (a sell trade at or below a buy's limit, a buy
  trade at or above a sell's limit) and fills it up to the trade's size, at the limit
  price, paying ``maker_fee`` of the value. A market order fills at the touch at once,
  paying ``taker_fee``.
- ``reduce_only`` orders may only shrink the position: one that would grow or flip it is
  rejected (Bybit's ``110017``).
- An order resting longer than ``ttl_ms`` of event time is canceled.

The venue's state is plain JSON (``state`` / ``restore``); ``flush`` writes it atomically
when something changed, once per batch. A restarted executor that lost an order the venue
had not written finds it missing and sends it again with the same id (``settle``), so the
two never disagree about an order for long, and never double one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeloop.core.atomic_file import write_atomic
from tradeloop.domain.enums import OrderType, Side
from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.order_manager import VenueFill, VenueOrderStatus, VenueRejection

OPEN = (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED)


@dataclass(slots=True)
class _Order:
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    limit: Decimal | None
    reduce_only: bool
    ts: int
    state: OrderState = OrderState.ACCEPTED
    filled: Decimal = Decimal(0)
    reason: str = ""

    def status(self) -> VenueOrderStatus:
        return VenueOrderStatus(
            self.client_order_id, self.state, self.filled, f"paper-{self.client_order_id}",
            self.reason,
        )  # fmt: skip


@dataclass(slots=True)
class TickPaperVenue:
    cash: Decimal
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.00055")
    ttl_ms: int = 5_000
    post_only: bool = True
    orders: dict[str, _Order] = field(default_factory=dict)
    fills: list[VenueFill] = field(default_factory=list)
    held: dict[str, Decimal] = field(default_factory=dict)
    touch: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    now: int = 0
    dirty: bool = False
    reduce_only: bool = True
    fill_seq: int = 0
    fees: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # maker, taker
    _outbox: list[VenueFill | VenueOrderStatus] = field(default_factory=list)
    _open: dict[str, _Order] = field(default_factory=dict)  # the resting ones, by id

    def _sync(self, order: _Order) -> None:
        if order.state in OPEN:
            self._open[order.client_order_id] = order
        else:
            self._open.pop(order.client_order_id, None)

    # -- the Exchange port ----------------------------------------------------------------

    def send(self, order: SubmitOrder) -> str:
        known = self.orders.get(order.client_order_id)
        if known is not None:
            return known.status().venue_order_id  # the same id again: never a second order
        held = self.held.get(order.symbol, Decimal(0))
        # As the Bybit adapter does: an order against the position is sent reduce-only, so
        # it can close the position but never flip it.
        reduce_only = self.reduce_only and held != 0 and (held > 0) != (order.side is Side.BUY)
        if reduce_only and order.quantity > abs(held):
            raise VenueRejection("110017 reduce-only order would not reduce the position")
        resting = _Order(
            order.client_order_id, order.symbol, order.side, order.quantity,
            order.limit_price, reduce_only, max(self.now, order.ts_init),
        )  # fmt: skip
        self.orders[order.client_order_id] = resting
        self.dirty = True
        bid, ask = self.touch.get(order.symbol, (Decimal(0), Decimal(0)))
        if order.order_type is OrderType.MARKET:
            price = ask if order.side is Side.BUY else bid
            if price <= 0:
                resting.state, resting.reason = OrderState.REJECTED, "no book for a market order"
                self._outbox.append(resting.status())
            else:
                taker = self.fees.get(order.symbol, (self.maker_fee, self.taker_fee))[1]
                self._fill(resting, order.quantity, price, taker)
        elif self.post_only and ask > 0 and resting.limit is not None:
            takes = resting.limit >= ask if order.side is Side.BUY else resting.limit <= bid
            if takes:
                resting.state, resting.reason = OrderState.CANCELED, "post-only would take"
                self._outbox.append(resting.status())
        self._sync(resting)
        return f"paper-{order.client_order_id}"

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        order = self.orders.get(client_order_id)
        return None if order is None else order.status()

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        order = self.orders.get(client_order_id)
        if order is None or order.state not in OPEN:
            return None
        order.state, order.reason = OrderState.CANCELED, "canceled"
        self._sync(order)
        self.dirty = True
        return order.status()

    def open_orders(self) -> list[VenueOrderStatus]:
        return [o.status() for o in self._open.values()]

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        return [f for f in self.fills if f.client_order_id == client_order_id]

    def on_bar(self, bar: BarView) -> list[VenueFill | VenueOrderStatus]:
        return []  # this venue trades on ticks (on_book, on_trade)

    def positions(self) -> dict[str, Decimal]:
        return {s: q for s, q in self.held.items() if q}

    def balance(self) -> Decimal:
        """Cash plus the positions at the mid of the last touch."""
        value = Decimal(0)
        for symbol, quantity in self.held.items():
            bid, ask = self.touch.get(symbol, (Decimal(0), Decimal(0)))
            value += quantity * (bid + ask) / 2
        return self.cash + value

    # -- the tape ---------------------------------------------------------------------------

    def on_book(
        self, symbol: str, ts: int, bid: Decimal, ask: Decimal
    ) -> list[VenueFill | VenueOrderStatus]:
        self.touch[symbol] = (bid, ask)
        self.now = max(self.now, ts)
        self._expire()
        return self._drain()

    def on_trade(
        self, symbol: str, ts: int, price: Decimal, quantity: Decimal, buyer_aggressor: bool
    ) -> list[VenueFill | VenueOrderStatus]:
        self.now = max(self.now, ts)
        self._expire()
        left = quantity
        for order in list(self._open.values()):
            if left <= 0:
                break
            if order.symbol != symbol or order.limit is None:
                continue
            through = (
                price <= order.limit and not buyer_aggressor
                if order.side is Side.BUY
                else price >= order.limit and buyer_aggressor
            )
            if not through:
                continue
            take = min(left, order.quantity - order.filled)
            maker = self.fees.get(symbol, (self.maker_fee, self.taker_fee))[0]
            self._fill(order, take, order.limit, maker)
            left -= take
        return self._drain()

    def _drain(self) -> list[VenueFill | VenueOrderStatus]:
        """What happened since the last report: fills (a market order's among them, taken
        when it was sent) and expiries, in order."""
        events, self._outbox = self._outbox, []
        return events

    def _fill(
        self, order: _Order, quantity: Decimal, price: Decimal, fee_rate: Decimal
    ) -> VenueFill:
        fee = quantity * price * fee_rate
        order.filled += quantity
        order.state = (
            OrderState.FILLED if order.filled >= order.quantity else OrderState.PARTIALLY_FILLED
        )
        self._sync(order)
        signed = quantity if order.side is Side.BUY else -quantity
        self.held[order.symbol] = self.held.get(order.symbol, Decimal(0)) + signed
        self.cash -= signed * price + fee
        self.fill_seq += 1
        fill = VenueFill(
            f"pf-{self.fill_seq:09d}", order.client_order_id, quantity, price, fee, self.now
        )
        self.fills.append(fill)
        if len(self.fills) > 2_000:
            del self.fills[:-1_000]
        self._outbox.append(fill)
        self.dirty = True
        return fill

    def _expire(self) -> None:
        horizon = self.now - self.ttl_ms * 1_000_000
        for order in [o for o in self._open.values() if o.ts <= horizon]:
            if order.state in OPEN:
                order.state, order.reason = OrderState.EXPIRED, f"rested {self.ttl_ms} ms"
                self._sync(order)
                self._outbox.append(order.status())
                self.dirty = True

    # -- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "cash": str(self.cash),
            "now": self.now,
            "fill_seq": self.fill_seq,
            "held": {s: str(q) for s, q in self.held.items()},
            "orders": [
                {
                    "id": o.client_order_id, "symbol": o.symbol, "side": o.side.value,
                    "quantity": str(o.quantity), "limit": None if o.limit is None else str(o.limit),
                    "reduce_only": o.reduce_only, "ts": o.ts, "state": o.state.value,
                    "filled": str(o.filled), "reason": o.reason,
                }
                for o in self._kept()
            ],
            "fills": [
                [f.fill_id, f.client_order_id, str(f.quantity), str(f.price), str(f.commission),
                 f.ts_event]
                for f in self.fills[-1_000:]
            ],
        }  # fmt: skip

    def _kept(self) -> list[_Order]:
        """The open orders and the last 1,000 others (the state stays small however long
        the venue runs; a closed order older than that is only in the journal)."""
        closed = [o for o in self.orders.values() if o.state not in OPEN]
        recent = {id(o) for o in closed[-1_000:]}
        if len(closed) > 2_000:  # forget them in memory too, once in a while
            old = {o.client_order_id for o in closed[:-1_000]}
            self.orders = {k: v for k, v in self.orders.items() if k not in old}
        return [o for o in self.orders.values() if o.state in OPEN or id(o) in recent]

    def restore(self, state: dict[str, Any]) -> None:
        self.cash, self.now = Decimal(state["cash"]), int(state["now"])
        self.fill_seq = int(state["fill_seq"])
        self.held = {s: Decimal(q) for s, q in state["held"].items()}
        self.orders = {
            o["id"]: _Order(
                o["id"], o["symbol"], Side(o["side"]), Decimal(o["quantity"]),
                None if o["limit"] is None else Decimal(o["limit"]), bool(o["reduce_only"]),
                int(o["ts"]), OrderState(o["state"]), Decimal(o["filled"]), o["reason"],
            )
            for o in state["orders"]
        }  # fmt: skip
        self.fills = [
            VenueFill(f[0], f[1], Decimal(f[2]), Decimal(f[3]), Decimal(f[4]), int(f[5]))
            for f in state["fills"]
        ]
        self._open = {k: o for k, o in self.orders.items() if o.state in OPEN}

    def flush(self, path: Path) -> None:
        if self.dirty:
            write_atomic(path, json.dumps(self.state(), sort_keys=True))
            self.dirty = False

    @classmethod
    def load(cls, path: Path, cash: Decimal, **options: Any) -> TickPaperVenue:
        venue = cls(cash, **options)
        if path.exists():
            venue.restore(json.loads(path.read_text()))
        return venue
