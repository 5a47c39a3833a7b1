"""The venue port and the simulated venue: market orders fill at the next bar's open."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from tradeloop.domain.orders import OrderFilled, SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import ExecutionConfig


class Venue(Protocol):
    """Where orders go. Simulated, paper and live venues differ only here."""

    def submit(self, order: SubmitOrder) -> None:
        """Accept an order for execution."""
        ...

    def on_bar(self, bar: BarView) -> list[OrderFilled]:
        """Offer the venue a new bar; return the fills it produced."""
        ...

    def cancel_all(self) -> list[SubmitOrder]:
        """Cancel every order not yet filled; return them."""
        ...


def to_decimal(value: float) -> Decimal:
    """Exact Decimal of a float's shortest repr (1.1 -> Decimal('1.1'))."""
    return Decimal(repr(float(value)))


class SimulatedVenue:
    """Fills each pending market order at the open of the symbol's next bar.

    Slippage moves the price against the order by ``slippage_bps``; commission is
    ``commission_rate`` of the traded value, on every fill.
    """

    def __init__(self, config: ExecutionConfig) -> None:
        self._rate = to_decimal(config.commission_rate)
        self._slippage = to_decimal(config.slippage_bps) / Decimal(10_000)
        self._pending: dict[str, list[SubmitOrder]] = {}

    def submit(self, order: SubmitOrder) -> None:
        self._pending.setdefault(order.symbol, []).append(order)

    def pending(self) -> int:
        return sum(len(orders) for orders in self._pending.values())

    def cancel_all(self) -> list[SubmitOrder]:
        canceled = [order for orders in self._pending.values() for order in orders]
        self._pending.clear()
        return canceled

    def on_bar(self, bar: BarView) -> list[OrderFilled]:
        orders = self._pending.pop(bar.symbol, [])
        fills = []
        open_price = to_decimal(bar.open)
        for order in orders:
            sign = Decimal(1) if order.signed_quantity > 0 else Decimal(-1)
            price = open_price * (Decimal(1) + sign * self._slippage)
            fills.append(
                OrderFilled(
                    client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=order.side,
                    quantity=order.quantity,
                    price=price,
                    commission=order.quantity * price * self._rate,
                    ts_event=bar.ts,
                )
            )
        return fills
