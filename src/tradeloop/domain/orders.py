"""Orders and fills: the command to trade and the events that report what happened."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.validation import require_non_negative, require_positive, require_symbol

# The reason an operator's close-all gives its orders. The kill switch and the HALTED state
# still let such an order through when it only shrinks a position (never opens or flips
# one): the runbooks' emergency order is halt, then close all.
CLOSE_ALL_REASON = "close_all"


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """Command: trade ``quantity`` of ``symbol``; ``client_order_id`` makes it idempotent."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    ts_init: int
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reason: str = ""
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC

    def __post_init__(self) -> None:
        require_symbol(self.symbol)
        if not self.client_order_id:
            raise ValueError("SubmitOrder.client_order_id must not be empty")
        require_positive(f"SubmitOrder.quantity ({self.client_order_id})", self.quantity)
        if self.order_type is OrderType.LIMIT:
            if self.limit_price is None:
                raise ValueError(f"limit order {self.client_order_id} needs a limit_price")
            require_positive("SubmitOrder.limit_price", self.limit_price)
        if self.order_type is OrderType.STOP:
            if self.stop_price is None:
                raise ValueError(f"stop order {self.client_order_id} needs a stop_price")
            require_positive("SubmitOrder.stop_price", self.stop_price)

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity

    def same_terms(self, other: SubmitOrder) -> bool:
        """Whether ``other`` asks the venue for the same thing (the free-text reason and
        the decision time may differ: a restarted process re-deciding a signal)."""
        return (
            self.client_order_id == other.client_order_id
            and self.symbol == other.symbol
            and self.side is other.side
            and self.quantity == other.quantity
            and self.order_type is other.order_type
            and self.limit_price == other.limit_price
            and self.stop_price == other.stop_price
            and self.time_in_force is other.time_in_force
        )


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """Event: ``quantity`` of an order was filled at ``price`` with ``commission`` paid
    (one fill of possibly several: a partially filled order has one event per fill)."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_event: int

    def __post_init__(self) -> None:
        require_symbol(self.symbol)
        require_positive(f"OrderFilled.quantity ({self.client_order_id})", self.quantity)
        require_positive(f"OrderFilled.price ({self.client_order_id})", self.price)
        require_non_negative(f"OrderFilled.commission ({self.client_order_id})", self.commission)

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """Event: an order was denied before reaching the venue, with the reason."""

    client_order_id: str
    symbol: str
    reason: str
    ts_event: int
