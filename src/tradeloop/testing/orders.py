"""Fakes of the order manager's ports: an in-memory journal and a scriptable venue."""

from __future__ import annotations

from tradeloop.domain.order_lifecycle import OrderState
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import VenueOrderStatus, VenueRejection, VenueUnavailable
from tradeloop.risk.config import RiskConfig

__all__ = ["UNLIMITED_RISK", "InMemoryOrderJournal", "ScriptedGateway"]


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


# The runbooks' sizing and loss rules off (kill switch, notional limits and buying power
# stay): for tests of engine mechanics and comparisons with peers that have no such rules.
UNLIMITED_RISK = RiskConfig(
    max_position_notional_usd=1e15,
    max_order_notional_usd=1e15,
    max_position_size=None,
    first_day_position_size=None,
    max_portfolio_heat=None,
    max_sector_exposure=None,
    daily_loss_limit=None,
    loss_streak_max=None,
)
