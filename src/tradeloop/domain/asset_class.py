"""Asset classes and the runbook's symbol classification."""

from __future__ import annotations

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
