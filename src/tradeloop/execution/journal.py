"""The in-memory order journal: backtests keep their orders and fills in the process."""

from __future__ import annotations

from collections.abc import Callable

from tradeloop.domain.order_lifecycle import IN_FLIGHT, ManagedOrder
from tradeloop.execution.order_manager import UnknownOrderFill, VenueFill


class InMemoryOrderJournal:
    """OrderJournal in dictionaries, with the SQL journal's semantics."""

    def __init__(self) -> None:
        self.orders: dict[str, ManagedOrder] = {}
        self.fill_ids: dict[str, None] = {}  # insertion-ordered set: O(1) duplicate check

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
        self.fill_ids[fill.fill_id] = None
        self.orders[fill.client_order_id] = updated
        return updated

    def get(self, client_order_id: str) -> ManagedOrder | None:
        return self.orders.get(client_order_id)

    def in_flight(self) -> list[ManagedOrder]:
        return [o for o in self.orders.values() if o.state in IN_FLIGHT]
