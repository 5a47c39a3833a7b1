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


class OrderStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    FILLED = "FILLED"
    REJECTED = "REJECTED"
    CANCELED = "CANCELED"


class TradingMode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    SIMULATE = "simulate"
    LIVE = "live"


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class SymbolState(StrEnum):
    ACTIVE = "ACTIVE"
    DEGRADED = "DEGRADED"
    QUARANTINED = "QUARANTINED"
