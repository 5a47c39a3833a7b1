"""The order manager: every order written down before it is sent, every fill applied once.

- ``submit``: an id already in the journal is never sent again (ids are deterministic, so a
  restarted process re-deciding the same signal finds it); a new order is journaled as
  PENDING, then sent. A timeout or disconnect leaves it SUBMITTED (in flight): only the
  venue's explicit answer makes it REJECTED, and ``settle`` asks the venue later.
- ``on_fill``: the journal applies a fill in one transaction keyed by the venue's fill id,
  so a duplicated or replayed fill changes nothing; fills may arrive before the
  acknowledgement. A fill is money that moved: it is applied even to an order already
  canceled or expired (a cancel race), and a fill that would overfill is refused loudly.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tradeloop.core.errors import RetryableError
from tradeloop.domain.order_lifecycle import IN_FLIGHT, ManagedOrder, OrderState
from tradeloop.domain.orders import SubmitOrder

log = logging.getLogger(__name__)


class VenueUnavailable(RetryableError):
    """The venue did not answer (timeout, disconnect, refused our credentials): the outcome
    is unknown, and a command that meets it exits "retry later" (3)."""


class VenueRejection(Exception):
    """The venue explicitly refused the order."""


class UnknownOrderFill(Exception):
    """A fill for an order this journal never wrote: reconciliation must look at it."""


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution as the venue reports it; ``fill_id`` is unique per venue."""

    fill_id: str
    client_order_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_event: int


@dataclass(frozen=True, slots=True)
class VenueOrderStatus:
    """What the venue says of an order (from a query or a push)."""

    client_order_id: str
    state: OrderState
    filled_quantity: Decimal = Decimal(0)
    venue_order_id: str = ""
    reason: str = ""


class OrderGateway(Protocol):
    """The venue as the order manager sees it."""

    def send(self, order: SubmitOrder) -> str:
        """Send; return the venue's order id. VenueUnavailable / VenueRejection otherwise."""
        ...

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        """The venue's view of an order; None if it never received it."""
        ...


class OrderJournal(Protocol):
    """Durable orders and fills (the ``orders`` and ``fills`` tables)."""

    def insert_order(self, order: ManagedOrder) -> ManagedOrder:
        """Store ``order`` unless its id exists; return the stored order either way."""
        ...

    def save_order(self, order: ManagedOrder) -> None:
        """Persist a new state of an existing order."""
        ...

    def apply_fill(
        self, fill: VenueFill, apply: Callable[[ManagedOrder], ManagedOrder]
    ) -> ManagedOrder | None:
        """In one transaction: if ``fill.fill_id`` is new, store it and the order ``apply``
        returns, and return that order; a known fill id returns None and changes nothing.
        UnknownOrderFill when the order is not in the journal."""
        ...

    def get(self, client_order_id: str) -> ManagedOrder | None: ...

    def in_flight(self) -> list[ManagedOrder]:
        """Orders PENDING or SUBMITTED: sent or about to be, outcome not known."""
        ...


class OrderManager:
    """Journal first, then the venue; fills exactly once."""

    def __init__(
        self,
        journal: OrderJournal,
        gateway: OrderGateway,
        clock: Callable[[], int],
        on_fill: Callable[[VenueFill, ManagedOrder], None] | None = None,
    ) -> None:
        self.journal = journal
        self.gateway = gateway
        self._clock = clock
        self._on_fill = on_fill

    def submit(self, order: SubmitOrder) -> ManagedOrder:
        stored = self.journal.insert_order(
            ManagedOrder(order, OrderState.PENDING, ts_updated=self._clock())
        )
        if not stored.order.same_terms(order):
            log.error(
                "client order id %s was journaled for a different order (%s); the new "
                "one (%s) is not sent",
                order.client_order_id,
                stored.order,
                order,
            )
            return stored
        if stored.state is not OrderState.PENDING:
            return stored  # decided before: never sent twice
        return self._send(stored)

    def _send(self, pending: ManagedOrder) -> ManagedOrder:
        now = self._clock()
        try:
            venue_id = self.gateway.send(pending.order)
        except VenueRejection as exc:
            updated = pending.moved(OrderState.REJECTED, now, reason=f"venue: {exc}")
        except VenueUnavailable as exc:
            # Unknown outcome: in flight until the venue is asked (settle), never a rejection.
            updated = pending.moved(OrderState.SUBMITTED, now, reason=f"unconfirmed: {exc}")
        else:
            # The venue took it: an "unconfirmed" reason from an earlier try no longer holds.
            updated = pending.moved(
                OrderState.SUBMITTED, now, reason="sent", venue_order_id=venue_id
            )
        self.journal.save_order(updated)
        return updated

    def on_fill(self, fill: VenueFill) -> ManagedOrder | None:
        """Apply ``fill`` once; None when it was applied before (duplicate or replay)."""

        def apply(order: ManagedOrder) -> ManagedOrder:
            if order.is_terminal and order.state is not OrderState.FILLED:
                log.warning(
                    "fill %s for %s order %s: applied (a cancel race)",
                    fill.fill_id,
                    order.state,
                    order.client_order_id,
                )
                total = order.filled_quantity + fill.quantity
                if total > order.order.quantity:
                    raise ValueError(f"fill {fill.fill_id} overfills {order.client_order_id}")
                average = (
                    order.average_price * order.filled_quantity + fill.price * fill.quantity
                ) / total
                return dataclasses.replace(
                    order, filled_quantity=total, average_price=average, ts_updated=fill.ts_event
                )
            return order.filled(fill.quantity, fill.price, fill.ts_event)

        updated = self.journal.apply_fill(fill, apply)
        if updated is not None and self._on_fill is not None:
            self._on_fill(fill, updated)
        return updated

    def on_status(self, status: VenueOrderStatus) -> ManagedOrder | None:
        """Adopt the venue's state of an order (acknowledged, canceled, rejected, expired).
        Fill states are left to the fills themselves, which carry price and quantity."""
        order = self.journal.get(status.client_order_id)
        if order is None:
            return None
        target = status.state
        if target in (OrderState.PARTIALLY_FILLED, OrderState.FILLED):
            target = OrderState.ACCEPTED if order.state in IN_FLIGHT else order.state
        if target == order.state or order.is_terminal:
            return order
        updated = order.moved(
            target, self._clock(), reason=status.reason, venue_order_id=status.venue_order_id
        )
        self.journal.save_order(updated)
        return updated

    def settle(self) -> list[ManagedOrder]:
        """Ask the venue about every in-flight order: adopt what it knows; send again what
        it never received (same client id, so the venue cannot double it); leave the
        rest in flight when it does not answer."""
        settled = []
        for order in self.journal.in_flight():
            try:
                status = self.gateway.query(order.client_order_id)
            except VenueUnavailable:
                settled.append(order)
                continue
            if status is None:
                pending = (
                    order
                    if order.state is OrderState.PENDING
                    else dataclasses.replace(order, state=OrderState.PENDING)
                )
                settled.append(self._send(pending))
            else:
                settled.append(self.on_status(status) or order)
        return settled
