"""Asset classes and the runbook's symbol classification."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class AssetClass(StrEnum):
    STOCKS = "stocks"
    FX = "fx"
    CRYPTO = "crypto"
    COMMODITIES = "commodities"


def classify_symbol(symbol: str) -> AssetClass:
    """``=X`` FX, ``=F`` commodities, ``-USD`` crypto, anything else stocks (the runbook's rule)."""
    if symbol.endswith("=X"):
        return AssetClass.FX
    if symbol.endswith("=F"):
        return AssetClass.COMMODITIES
    if "-USD" in symbol:
        return AssetClass.CRYPTO
    return AssetClass.STOCKS


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """How much trading a year holds for an asset class, for annualising statistics:
    ``days_per_year`` trading days, each with ``seconds_per_day`` of trading."""

    days_per_year: float
    seconds_per_day: int

    def periods_per_year(self, bar_interval_sec: int) -> float:
        """Bars of ``bar_interval_sec`` in a year (daily and longer bars: one per day)."""
        if bar_interval_sec <= 0:
            raise ValueError(f"bar_interval_sec must be positive, got {bar_interval_sec}")
        if bar_interval_sec >= 86_400:
            return self.days_per_year * 86_400 / bar_interval_sec
        return self.days_per_year * self.seconds_per_day / bar_interval_sec


# Per class (documented in the README): US equities 252 sessions of 6.5 h; FX 24/5 (260
# weekdays, around the clock); crypto 24/7 (365 days); CME-style futures 252 days of 23 h.
CALENDARS: dict[AssetClass, TradingCalendar] = {
    AssetClass.STOCKS: TradingCalendar(252.0, 23_400),
    AssetClass.FX: TradingCalendar(260.0, 86_400),
    AssetClass.CRYPTO: TradingCalendar(365.0, 86_400),
    AssetClass.COMMODITIES: TradingCalendar(252.0, 82_800),
}


def periods_per_year(bar_interval_sec: int, symbols: Iterable[str]) -> float:
    """Bars per year of ``symbols``' asset class; for a mix, of the class trading most
    (the equity curve then steps on the union of their bars)."""
    classes = {classify_symbol(symbol) for symbol in symbols} or {AssetClass.STOCKS}
    return max(CALENDARS[c].periods_per_year(bar_interval_sec) for c in classes)
