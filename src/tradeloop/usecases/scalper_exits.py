"""The executor's exits: every entry fill gets its way out.

- A fill of an entry places a take-profit: a reduce-only, post-only limit on the other
  side, ``take_profit_bps`` away from the fill price (rounded to the tick in the trade's
  favour... never past it), for the filled quantity. Its id derives from the fill id.
- On each book update, a trip whose mid has moved ``stop_loss_bps`` against it, or that
  has been open ``max_hold_ms`` of event time, has its take-profit canceled and leaves at
  the touch with a reduce-only market order (id derived from the take-profit's).
- On start, what the venue holds beyond the open take-profits (a fill whose exit was never
  placed: killed in between) is flattened with a reduce-only market order: in doubt, out.

Exits go through the same order manager and risk gate as entries.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tradeloop.core.ids import natural_key_id
from tradeloop.domain.enums import OrderType, Side
from tradeloop.domain.order_lifecycle import TERMINAL, ManagedOrder, OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.order_manager import (
    OrderManager,
    VenueFill,
    VenueOrderStatus,
    VenueRejection,
)
from tradeloop.usecases.scalper_config import ExitsConfig

log = logging.getLogger(__name__)

ENTRY, TAKE_PROFIT, MARKET_EXIT, FLATTEN = "sc", "tp", "mx", "fl"


@dataclass(slots=True)
class Trip:
    tp_id: str
    symbol: str
    exit_side: Side
    quantity: Decimal
    entry: Decimal
    opened_ts: int


@dataclass(slots=True)
class ExitBook:
    config: ExitsConfig
    orders: OrderManager
    tick_size: dict[str, float]
    check: Callable[[SubmitOrder], str | None]  # the risk gate's verdict on an exit
    entry_ttl_ms: int = 5_000
    trips: dict[str, Trip] = field(default_factory=dict)
    entries: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> symbol, sent ts
    leaving: dict[str, Trip] = field(default_factory=dict)  # market exit id -> its trip
    on_closed: Callable[[Decimal], None] | None = None  # a trip's PnL (before fees)
    denied: dict[str, str] = field(default_factory=dict)  # exits the risk gate refused
    exits_sent: int = 0
    stops: int = 0
    timeouts: int = 0

    def on_fill(self, fill: VenueFill, order: ManagedOrder) -> None:
        """After a fill: an entry's fill opens a trip with its take-profit; an exit's fill
        shrinks (or ends) its trip."""
        kind = fill.client_order_id[:2]
        if kind == ENTRY:
            if order.is_terminal:
                self.entries.pop(fill.client_order_id, None)
            self._open(fill, order)
        elif kind == TAKE_PROFIT:
            trip = self.trips.get(fill.client_order_id)
            if trip is not None:
                self._closed(trip, fill)
                trip.quantity -= fill.quantity
                if trip.quantity <= 0 or order.state is OrderState.FILLED:
                    del self.trips[fill.client_order_id]
        elif kind == MARKET_EXIT:
            trip = self.leaving.pop(fill.client_order_id, None)
            if trip is not None:
                self._closed(trip, fill)

    def _closed(self, trip: Trip, fill: VenueFill) -> None:
        if self.on_closed is not None:
            direction = 1 if trip.exit_side is Side.SELL else -1
            self.on_closed((fill.price - trip.entry) * fill.quantity * direction)

    def _open(self, fill: VenueFill, entry: ManagedOrder) -> None:
        bought = entry.order.side is Side.BUY
        tick = self.tick_size.get(entry.order.symbol, 0.0)
        move = float(fill.price) * self.config.take_profit_bps / 1e4
        raw = float(fill.price) + (move if bought else -move)
        price = _round_to_tick(raw, tick, up=bought)
        tp_id = TAKE_PROFIT + natural_key_id(("tp", fill.fill_id), 24)
        order = SubmitOrder(
            tp_id, entry.order.symbol, Side.SELL if bought else Side.BUY, fill.quantity,
            fill.ts_event, OrderType.LIMIT, Decimal(repr(price)), reason=f"exit tp {fill.fill_id}",
        )  # fmt: skip
        self.trips[tp_id] = Trip(
            tp_id, order.symbol, order.side, fill.quantity, fill.price, fill.ts_event
        )
        self._send(order)

    def adopt(self, status: VenueOrderStatus, order: ManagedOrder | None) -> None:
        """A take-profit resting at the venue from before a restart: watched again, its
        hold time counted from now (its entry price is where it rests, less the target)."""
        if order is None:
            return
        if status.client_order_id.startswith(ENTRY):
            self.entries[order.client_order_id] = (order.order.symbol, order.order.ts_init)
            return
        if not status.client_order_id.startswith(TAKE_PROFIT):
            return
        limit = order.order.limit_price or Decimal(0)
        factor = Decimal(repr(1 + self.config.take_profit_bps / 1e4))
        long = order.order.side is Side.SELL
        entry = limit / factor if long else limit * factor
        left = order.order.quantity - status.filled_quantity
        self.trips[order.client_order_id] = Trip(
            order.client_order_id, order.order.symbol, order.order.side, left, entry,
            order.order.ts_init,
        )  # fmt: skip

    def on_entry_sent(self, order: ManagedOrder) -> None:
        if not order.is_terminal:
            self.entries[order.client_order_id] = (order.order.symbol, order.order.ts_init)

    def on_status(self, status: VenueOrderStatus) -> None:
        if status.state in TERMINAL:
            self.entries.pop(status.client_order_id, None)

    def busy(self, symbol: str) -> str | None:
        """Why ``symbol`` takes no new entry: one position (or entry) at a time."""
        if any(t.symbol == symbol for t in self.trips.values()):
            return f"IN_POSITION: {symbol} has an open trip"
        if any(s == symbol for s, _ in self.entries.values()):
            return f"IN_POSITION: {symbol} has an entry resting"
        return None

    def on_book(self, symbol: str, ts: int, bid: Decimal, ask: Decimal) -> None:
        horizon = ts - self.entry_ttl_ms * 1_000_000
        for cid in [c for c, (s, sent) in self.entries.items() if s == symbol and sent <= horizon]:
            # a maker entry the market left behind: canceled, not chased
            del self.entries[cid]
            status = self.orders.gateway.cancel(cid)  # type: ignore[attr-defined]
            if status is not None:
                self.orders.on_status(status)
        mid = (bid + ask) / 2
        for trip in [t for t in self.trips.values() if t.symbol == symbol]:
            long = trip.exit_side is Side.SELL
            adverse = (trip.entry - mid if long else mid - trip.entry) / trip.entry * 10_000
            timed_out = ts - trip.opened_ts >= self.config.max_hold_ms * 1_000_000
            if trip.tp_id in self.denied:
                continue  # refused by risk (kill switch): the operator closes it
            if adverse >= Decimal(repr(self.config.stop_loss_bps)) or timed_out:
                self.stops += not timed_out
                self.timeouts += timed_out
                self._leave(trip, ts)

    def _leave(self, trip: Trip, ts: int) -> None:
        del self.trips[trip.tp_id]
        status = self.orders.gateway.cancel(trip.tp_id)  # type: ignore[attr-defined]
        if status is not None:
            self.orders.on_status(status)
        tp = self.orders.journal.get(trip.tp_id)
        left = trip.quantity if tp is None else tp.order.quantity - tp.filled_quantity
        if left <= 0:
            return
        order = SubmitOrder(
            MARKET_EXIT + trip.tp_id[2:], trip.symbol, trip.exit_side, left, ts,
            reason=f"exit market {trip.tp_id}",
        )  # fmt: skip
        self.leaving[order.client_order_id] = trip
        self._send(order)

    def flatten(self, positions: dict[str, Decimal], ts: int) -> None:
        """Close what the venue holds beyond the open take-profits (see the module doc)."""
        covered: dict[str, Decimal] = {}
        for trip in self.trips.values():
            sign = Decimal(-1) if trip.exit_side is Side.SELL else Decimal(1)
            covered[trip.symbol] = covered.get(trip.symbol, Decimal(0)) + sign * trip.quantity
        for symbol, held in positions.items():
            bare = held + covered.get(symbol, Decimal(0))
            if not bare or (held > 0) != (bare > 0):
                continue
            cid = FLATTEN + natural_key_id(("flat", symbol, str(held), ts), 24)
            side = Side.SELL if bare > 0 else Side.BUY
            log.warning("flattening %s %s at the venue with no exit placed", bare, symbol)
            self._send(SubmitOrder(cid, symbol, side, abs(bare), ts, reason="exit flatten"))

    def _send(self, order: SubmitOrder) -> None:
        denial = self.check(order)
        if denial is not None:
            if order.client_order_id not in self.denied:
                log.warning("exit %s refused by risk: %s", order.client_order_id, denial)
            self.denied[order.client_order_id] = denial
            return
        try:
            managed = self.orders.submit(order)
        except VenueRejection as exc:  # the order manager records rejections itself
            log.warning("exit %s refused: %s", order.client_order_id, exc)
            return
        self.exits_sent += 1
        if managed.state is OrderState.REJECTED:
            log.warning("exit %s rejected: %s", order.client_order_id, managed.reason)


def _round_to_tick(price: float, tick: float, *, up: bool) -> float:
    if tick <= 0:
        return price
    steps = math.ceil(price / tick - 1e-9) if up else math.floor(price / tick + 1e-9)
    decimals = max(0, -math.floor(math.log10(tick)) + 2)
    return round(steps * tick, decimals)
