"""Fakes of the order manager's ports: an in-memory journal and a scriptable venue."""

from __future__ import annotations

from collections.abc import Callable

from tradeloop.domain.order_lifecycle import IN_FLIGHT, ManagedOrder, OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.order_manager import (
    UnknownOrderFill,
    VenueFill,
    VenueOrderStatus,
    VenueRejection,
    VenueUnavailable,
)


class InMemoryOrderJournal:
    """OrderJournal in dictionaries, with the SQL journal's semantics."""

    def __init__(self) -> None:
        self.orders: dict[str, ManagedOrder] = {}
        self.fill_ids: list[str] = []

    def insert_order(self, order: ManagedOrder) -> ManagedOrder:
        return self.orders.setdefault(order.client_order_id, order)

    def save_order(self, order: ManagedOrder) -> None:
        self.orders[order.client_order_id] = order

    def apply_fill(
        self, fill: VenueFill, apply: Callable[[ManagedOrder], ManagedOrder]
    ) -> ManagedOrder | None:
        order = self.orders.get(fill.client_order_id)
        if order is None:
            raise UnknownOrderFill(f"fill {fill.fill_id}: order {fill.client_order_id} unknown")
        if fill.fill_id in self.fill_ids:
            return None
        updated = apply(order)  # raises before anything is stored
        self.fill_ids.append(fill.fill_id)
        self.orders[fill.client_order_id] = updated
        return updated

    def get(self, client_order_id: str) -> ManagedOrder | None:
        return self.orders.get(client_order_id)

    def in_flight(self) -> list[ManagedOrder]:
        return [o for o in self.orders.values() if o.state in IN_FLIGHT]


class ScriptedGateway:
    """A venue that dedupes by client order id; ``next_outcome`` scripts the next send:
    "ok", "timeout" (received but unanswered), "lost" (never received) or "reject"."""

    def __init__(self) -> None:
        self.received: dict[str, SubmitOrder] = {}
        self.sends: list[str] = []
        self.next_outcome = "ok"
        self.reachable = True
        self.status: dict[str, VenueOrderStatus] = {}

    def send(self, order: SubmitOrder) -> str:
        self.sends.append(order.client_order_id)
        outcome, self.next_outcome = self.next_outcome, "ok"
        if outcome == "lost":
            raise VenueUnavailable("connection reset before the venue read the order")
        if outcome == "reject":
            raise VenueRejection("insufficient buying power")
        if order.client_order_id not in self.received:
            self.received[order.client_order_id] = order
            self.status[order.client_order_id] = VenueOrderStatus(
                order.client_order_id, OrderState.ACCEPTED, venue_order_id=f"v-{len(self.received)}"
            )
        if outcome == "timeout":
            raise VenueUnavailable("read timeout")
        return self.status[order.client_order_id].venue_order_id

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        if not self.reachable:
            raise VenueUnavailable("venue down")
        return self.status.get(client_order_id)
