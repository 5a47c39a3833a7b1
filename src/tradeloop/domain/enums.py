"""Enumerations shared across the platform."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class TimeInForce(StrEnum):
    GTC = "GTC"  # good till canceled
    DAY = "DAY"  # expires at the end of the session it was sent in
    IOC = "IOC"  # immediate or cancel: what the next bar cannot fill is canceled


class TradingState(StrEnum):
    """An account's trading state, kept by the risk gate."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that shrink exposure
    HALTED = "HALTED"  # no new orders; cancels allowed


class SymbolState(StrEnum):
    ACTIVE = "ACTIVE"
    DEGRADED = "DEGRADED"
    QUARANTINED = "QUARANTINED"
