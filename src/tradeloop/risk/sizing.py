"""Position sizing as the scalper runbook defines it:

    qty = floor((min(notional_cap_usd, free_balance * leverage) / price) / lot_step) * lot_step

Always rounded down to the venue's lot: a signal too small for the venue's minimum is then
dropped by the risk gate (``VENUE_MINIMUM``), never inflated to reach it.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def scalper_quantity(
    price: Decimal,
    free_balance: Decimal,
    *,
    leverage: Decimal = Decimal(1),
    notional_cap_usd: Decimal | None = None,
    lot_step: Decimal = Decimal(0),
) -> Decimal:
    budget = free_balance * leverage
    if notional_cap_usd is not None:
        budget = min(budget, notional_cap_usd)
    if price <= 0 or budget <= 0:
        return Decimal(0)
    units = budget / price
    if lot_step > 0:
        return (units / lot_step).to_integral_value(rounding=ROUND_FLOOR) * lot_step
    return units.to_integral_value(rounding=ROUND_FLOOR)
