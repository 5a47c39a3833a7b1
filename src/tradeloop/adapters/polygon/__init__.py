"""Polygon.io aggregates over REST (httpx)."""

from tradeloop.adapters.polygon.provider import PolygonProvider, polygon_ticker

__all__ = ["PolygonProvider", "polygon_ticker"]
