"""A simulated exchange whose state is on disk after every change (paper accounts).

Each call that changes the venue (an order received, a cancel, a bar that filled or
expired something) writes the whole state atomically before returning, so what the
caller learns from the venue is never more than what a restarted venue remembers. A bar
that changed nothing is not written: matching it again after a restart changes nothing
either.
"""

from __future__ import annotations

from pathlib import Path

from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.exchange_state import save_exchange
from tradeloop.execution.order_manager import VenueFill, VenueOrderStatus
from tradeloop.execution.sim_exchange import SimulatedExchange


class PersistedExchange:
    """``SimulatedExchange`` + ``save_exchange`` after every state change."""

    def __init__(self, exchange: SimulatedExchange, path: Path) -> None:
        self.exchange = exchange
        self.path = path

    def send(self, order: SubmitOrder) -> str:
        venue_id = self.exchange.send(order)
        save_exchange(self.exchange, self.path)
        return venue_id

    def query(self, client_order_id: str) -> VenueOrderStatus | None:
        return self.exchange.query(client_order_id)

    def cancel(self, client_order_id: str) -> VenueOrderStatus | None:
        status = self.exchange.cancel(client_order_id)
        if status is not None:
            save_exchange(self.exchange, self.path)
        return status

    def open_orders(self) -> list[VenueOrderStatus]:
        return self.exchange.open_orders()

    def fills_for(self, client_order_id: str) -> list[VenueFill]:
        return self.exchange.fills_for(client_order_id)

    def on_bar(self, bar: BarView) -> list[VenueFill | VenueOrderStatus]:
        events = self.exchange.on_bar(bar)
        if events:
            save_exchange(self.exchange, self.path)
        return events
