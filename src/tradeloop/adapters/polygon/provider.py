"""The ``polygon`` provider: ``GET /v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}``.

Pages follow ``next_url``; the API key travels in the Authorization header, never in a
URL that could be logged or archived. Bars are split/dividend adjusted (``adjusted=true``);
``t`` (ms, start of the New York session day) becomes 00:00 UTC of that date.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from tradeloop.adapters.rest_provider import RestProvider
from tradeloop.adapters.session_day import iso_day, session_day_ns
from tradeloop.core.errors import DataError
from tradeloop.data.ports import ACTIONS_SCHEMA, BarRequest, History
from tradeloop.data.validation import validate_bars
from tradeloop.domain.asset_class import AssetClass, classify_symbol
from tradeloop.domain.bar import DAILY_SEC, bar_frame

MAX_PAGES = 100


def polygon_ticker(symbol: str) -> str:
    """Our symbol in Polygon's notation: EURUSD=X -> C:EURUSD, BTC-USD -> X:BTCUSD."""
    asset_class = classify_symbol(symbol)
    if asset_class is AssetClass.FX:
        return "C:" + symbol.removesuffix("=X")
    if asset_class is AssetClass.CRYPTO:
        return "X:" + symbol.replace("-", "")
    return symbol


class PolygonProvider(RestProvider):
    name = "polygon"

    def fetch_history(self, request: BarRequest) -> History:
        if request.bar_interval_sec != DAILY_SEC:
            raise DataError(f"polygon adapter serves daily bars; {request.bar_interval_sec}s asked")
        ticker = polygon_ticker(request.symbol)
        url: str | None = (
            f"/v2/aggs/ticker/{ticker}/range/1/day/{iso_day(request.start_ns)}/"
            f"{iso_day(request.end_ns - 1)}"
        )
        params: dict[str, Any] | None = {"adjusted": "true", "sort": "asc", "limit": 50000}
        pages: list[Any] = []
        rows: list[dict[str, Any]] = []
        while url is not None:
            if len(pages) >= MAX_PAGES:
                raise DataError(f"polygon {request.symbol}: more than {MAX_PAGES} pages")
            payload = self._client.get_json(url, params)
            pages.append(payload)
            if not isinstance(payload, dict):
                raise DataError(f"polygon {request.symbol}: expected a JSON object")
            if payload.get("status") not in ("OK", "DELAYED"):
                raise DataError(
                    f"polygon {request.symbol}: status {payload.get('status')!r} "
                    f"({payload.get('error') or payload.get('message') or 'no detail'})"
                )
            if payload.get("ticker") not in (None, ticker):
                raise DataError(
                    f"polygon {request.symbol}: payload is for {payload.get('ticker')!r}, "
                    f"not {ticker!r}"
                )
            rows += list(payload.get("results") or [])
            url, params = payload.get("next_url"), None
        if self._archive is not None:
            self._archive.save(request.symbol, self.name, pages)
        return History(
            self._to_bars(request, rows),
            pl.DataFrame(schema=ACTIONS_SCHEMA),
            {"provider_ticker": ticker},
        )

    def _to_bars(self, request: BarRequest, rows: list[dict[str, Any]]) -> pl.DataFrame:
        if not rows:
            raise DataError(f"polygon {request.symbol}: no bars in the response")
        try:
            ts = [session_day_ns(float(row["t"]) / 1000) for row in rows]
            columns = {
                name: [row.get(key) for row in rows]
                for name, key in (
                    ("open", "o"),
                    ("high", "h"),
                    ("low", "l"),
                    ("close", "c"),
                    ("volume", "v"),
                )
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"polygon {request.symbol}: malformed bar ({exc!r})") from None
        bars = bar_frame(request.symbol, ts, columns, source=self.name, bar_interval_sec=DAILY_SEC)
        bars = validate_bars(bars, f"polygon {request.symbol}")
        return bars.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))
