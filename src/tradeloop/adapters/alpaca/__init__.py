"""Alpaca market data over REST (httpx)."""

from tradeloop.adapters.alpaca.provider import AlpacaProvider

__all__ = ["AlpacaProvider"]
