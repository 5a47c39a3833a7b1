"""Pre-trade checks: pure functions returning the reason an order is denied, or None."""

from __future__ import annotations

from decimal import Decimal

from tradeloop.domain.orders import SubmitOrder
from tradeloop.risk.config import RiskConfig


def pre_trade_denial(
    order: SubmitOrder,
    *,
    position_quantity: Decimal,
    reference_price: Decimal,
    equity: Decimal,
    kill_switch_engaged: bool,
    config: RiskConfig,
) -> str | None:
    """Why ``order`` must not go to the venue, or None when it may."""
    if kill_switch_engaged:
        return "KILL_SWITCH: trading halted by the kill switch file"
    order_notional = order.quantity * reference_price
    if order_notional > Decimal(str(config.max_order_notional_usd)):
        return (
            f"MAX_ORDER_NOTIONAL: order value {order_notional:.2f} > "
            f"{config.max_order_notional_usd:.2f}"
        )
    after = abs(position_quantity + order.signed_quantity) * reference_price
    if after > Decimal(str(config.max_position_notional_usd)):
        return (
            f"MAX_POSITION_NOTIONAL: position value after fill {after:.2f} > "
            f"{config.max_position_notional_usd:.2f}"
        )
    leverage = Decimal(str(config.max_gross_leverage))
    if after > max(equity, Decimal(0)) * leverage:
        return (
            f"INSUFFICIENT_BUYING_POWER: position value after fill {after:.2f} > equity "
            f"{equity:.2f} x max_gross_leverage {config.max_gross_leverage}"
        )
    return None
