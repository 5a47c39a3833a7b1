"""Yahoo Finance chart API over REST (httpx)."""

from tradeloop.adapters.yahoo.provider import YahooProvider

__all__ = ["YahooProvider"]
