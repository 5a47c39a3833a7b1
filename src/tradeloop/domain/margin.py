"""Margin arithmetic shared by the simulated venue and the risk gate."""

from __future__ import annotations

from decimal import Decimal

from tradeloop.domain.enums import Side


def liquidation_price(
    side: Side, entry: Decimal, leverage: Decimal, maintenance_margin: Decimal
) -> Decimal:
    """Estimated price at which an isolated-margin position is liquidated: where the loss
    has eaten the initial margin (1/leverage) down to the maintenance margin."""
    if leverage <= 0:
        raise ValueError(f"leverage must be positive, got {leverage}")
    distance = Decimal(1) / leverage - maintenance_margin
    factor = Decimal(1) - distance if side is Side.BUY else Decimal(1) + distance
    return max(entry * factor, Decimal(0))
