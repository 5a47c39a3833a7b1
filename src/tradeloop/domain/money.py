"""The one precision money is kept at, wherever it is stored."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MONEY_SCALE = 10  # decimal places of prices, quantities and amounts in the database
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def quantize_money(value: Decimal) -> Decimal:
    """``value`` at ``MONEY_SCALE`` places: what a venue reports and a journal stores
    exactly, so a ledger rebuilt from stored fills equals the one kept in memory."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)
