"""The venue port the engine trades through, and exact float -> Decimal conversion."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from tradeloop.execution.bar_view import BarView
from tradeloop.execution.order_manager import OrderGateway, VenueFill, VenueOrderStatus


class Exchange(OrderGateway, Protocol):
    """Where orders go, as the engine sees it. Simulated, paper and live venues differ
    only here: the order manager's gateway, plus cancels and the bar-driven matching that
    a simulated venue does (a live adapter returns the fills its stream delivered)."""

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        """Cancel an open order; its status afterwards (None if unknown)."""
        ...

    def open_orders(self) -> list[VenueOrderStatus]:
        """Orders accepted and not yet filled, canceled or expired."""
        ...

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        """Every fill of an order as the venue recorded it (reconciliation reads these)."""
        ...

    def on_bar(self, bar: BarView) -> list[VenueFill | VenueOrderStatus]:
        """Offer the venue a new bar; return the fills and status changes it produced."""
        ...


def to_decimal(value: float) -> Decimal:
    """Exact Decimal of a float's shortest repr (1.1 -> Decimal('1.1'))."""
    return Decimal(repr(float(value)))
