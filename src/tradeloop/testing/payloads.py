"""Provider responses in each provider's documented JSON format, built from bar frames.

Used with :class:`tradeloop.testing.http_server.FakeHttpServer` to test adapters against
realistic payloads: Yahoo ``/v8/finance/chart``, Polygon ``/v2/aggs``, Alpaca
``/v2/stocks/bars``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from tradeloop.core.time import NS_PER_SECOND

# A daily bar's session opens 14:30 UTC (09:30 New York, winter); Yahoo stamps the open,
# Polygon and Alpaca stamp 05:00 UTC (midnight New York).
_YAHOO_OPEN_S = 14 * 3600 + 30 * 60
_MIDNIGHT_NY_S = 5 * 3600


def _rows(bars: pl.DataFrame) -> list[dict[str, Any]]:
    return bars.sort("ts").to_dicts()


def yahoo_chart(
    symbol: str,
    bars: pl.DataFrame,
    *,
    splits: dict[int, tuple[int, int]] | None = None,
    dividends: dict[int, float] | None = None,
) -> dict[str, Any]:
    """``GET /v8/finance/chart/{symbol}``; ``splits``/``dividends`` keyed by bar ts (ns)."""
    rows = _rows(bars)
    stamps = [row["ts"] // NS_PER_SECOND + _YAHOO_OPEN_S for row in rows]
    events: dict[str, Any] = {}
    if splits:
        events["splits"] = {
            str(ts // NS_PER_SECOND + _YAHOO_OPEN_S): {
                "date": ts // NS_PER_SECOND + _YAHOO_OPEN_S,
                "numerator": num,
                "denominator": den,
                "splitRatio": f"{num}:{den}",
            }
            for ts, (num, den) in splits.items()
        }
    if dividends:
        events["dividends"] = {
            str(ts // NS_PER_SECOND + _YAHOO_OPEN_S): {
                "date": ts // NS_PER_SECOND + _YAHOO_OPEN_S,
                "amount": amount,
            }
            for ts, amount in dividends.items()
        }
    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeName": "NMS",
                        "instrumentType": "EQUITY",
                        "exchangeTimezoneName": "America/New_York",
                        "timezone": "EST",
                        "gmtoffset": -18000,
                        "dataGranularity": "1d",
                    },
                    "timestamp": stamps,
                    "events": events,
                    "indicators": {
                        "quote": [
                            {
                                name: [row[name] for row in rows]
                                for name in ("open", "high", "low", "close", "volume")
                            }
                        ],
                        "adjclose": [{"adjclose": [row["adj_close"] for row in rows]}],
                    },
                }
            ],
            "error": None,
        }
    }


def polygon_aggs(ticker: str, bars: pl.DataFrame, *, next_url: str | None = None) -> dict[str, Any]:
    """``GET /v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}``."""
    results = [
        {
            "v": row["volume"],
            "vw": (row["high"] + row["low"] + row["close"]) / 3,
            "o": row["open"],
            "c": row["close"],
            "h": row["high"],
            "l": row["low"],
            "t": (row["ts"] // NS_PER_SECOND + _MIDNIGHT_NY_S) * 1000,
            "n": 1000,
        }
        for row in _rows(bars)
    ]
    payload: dict[str, Any] = {
        "ticker": ticker,
        "queryCount": len(results),
        "resultsCount": len(results),
        "adjusted": True,
        "results": results,
        "status": "OK",
        "request_id": "6a7e466379af0a71039d60cc78e72282",
        "count": len(results),
    }
    if next_url:
        payload["next_url"] = next_url
    return payload


def alpaca_bars(
    symbol: str, bars: pl.DataFrame, *, next_page_token: str | None = None
) -> dict[str, Any]:
    """``GET /v2/stocks/bars?symbols={symbol}&timeframe=1Day``."""
    items = [
        {
            "t": datetime.fromtimestamp(
                row["ts"] // NS_PER_SECOND + _MIDNIGHT_NY_S, tz=UTC
            ).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "o": row["open"],
            "h": row["high"],
            "l": row["low"],
            "c": row["close"],
            "v": row["volume"],
            "n": 1000,
            "vw": row["close"],
        }
        for row in _rows(bars)
    ]
    return {"bars": {symbol: items}, "next_page_token": next_page_token}
