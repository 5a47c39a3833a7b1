"""The order state machine, deterministic client order ids, and one order's running state.

States: PENDING (written down, not yet sent) -> SUBMITTED (sent, no answer yet: a timeout
leaves it here, never REJECTED) -> ACCEPTED -> PARTIALLY_FILLED -> FILLED, or CANCELED,
REJECTED (only when the venue says so), EXPIRED. Fills may arrive before the
acknowledgement (venues reorder), so a fill moves a SUBMITTED order straight on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradeloop.domain.orders import SubmitOrder


class OrderState(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.EXPIRED}
)
IN_FLIGHT = frozenset({OrderState.PENDING, OrderState.SUBMITTED})
_AFTER_SEND = frozenset(
    {
        OrderState.ACCEPTED,
        OrderState.PARTIALLY_FILLED,
        OrderState.FILLED,
        OrderState.CANCELED,
        OrderState.REJECTED,
        OrderState.EXPIRED,
    }
)
ALLOWED: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PENDING: frozenset({OrderState.SUBMITTED}) | _AFTER_SEND,
    OrderState.SUBMITTED: _AFTER_SEND,
    OrderState.ACCEPTED: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELED, OrderState.EXPIRED}
    ),
    OrderState.PARTIALLY_FILLED: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELED, OrderState.EXPIRED}
    ),
}


class InvalidTransition(ValueError):
    """A state change the lifecycle does not allow (e.g. FILLED -> CANCELED)."""


def can_move(current: OrderState, new: OrderState) -> bool:
    return new in ALLOWED.get(current, frozenset())


def client_order_id(strategy: str, symbol: str, signal_ts: int, intent: str) -> str:
    """Deterministic, idempotent id: the same decision always yields the same id, so a
    restarted process re-deciding it cannot send a second order (32 chars, venue-safe)."""
    key = f"{strategy}|{symbol}|{signal_ts}|{intent}".encode()
    return "tl" + hashlib.sha256(key).hexdigest()[:30]


@dataclass(frozen=True, slots=True)
class ManagedOrder:
    """An order and what is known of it so far."""

    order: SubmitOrder
    state: OrderState
    filled_quantity: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    venue_order_id: str = ""
    reason: str = ""
    ts_updated: int = 0

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id

    @property
    def remaining(self) -> Decimal:
        return self.order.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    def moved(
        self, state: OrderState, ts: int, *, reason: str = "", venue_order_id: str = ""
    ) -> ManagedOrder:
        """This order in ``state``; InvalidTransition when the lifecycle forbids it."""
        if state == self.state and state is not OrderState.PARTIALLY_FILLED:
            return self
        if not can_move(self.state, state):
            raise InvalidTransition(f"order {self.client_order_id}: {self.state} -> {state}")
        return ManagedOrder(  # not dataclasses.replace: this is the hot path of every fill
            self.order,
            state,
            self.filled_quantity,
            self.average_price,
            venue_order_id or self.venue_order_id,
            reason or self.reason,
            ts,
        )

    def filled(self, quantity: Decimal, price: Decimal, ts: int) -> ManagedOrder:
        """This order after a fill of ``quantity`` at ``price``; ValueError on overfill."""
        total = self.filled_quantity + quantity
        if total > self.order.quantity:
            raise ValueError(
                f"order {self.client_order_id}: fill of {quantity} would exceed "
                f"the order ({self.filled_quantity} of {self.order.quantity} filled)"
            )
        average = (self.average_price * self.filled_quantity + price * quantity) / total
        state = OrderState.FILLED if total == self.order.quantity else OrderState.PARTIALLY_FILLED
        changes = state != self.state or state is OrderState.PARTIALLY_FILLED
        if changes and not can_move(self.state, state):
            raise InvalidTransition(f"order {self.client_order_id}: {self.state} -> {state}")
        return ManagedOrder(self.order, state, total, average, self.venue_order_id, self.reason, ts)
