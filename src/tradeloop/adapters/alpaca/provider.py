"""The ``alpaca`` provider: ``GET /v2/stocks/bars`` and ``/v1beta3/crypto/us/bars``.

Daily bars (``timeframe=1Day``, ``adjustment=all`` for stocks), paged by
``next_page_token``. Credentials go in the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``
headers set on the client, never in URLs.
"""

from __future__ import annotations

from datetime import datetime
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


class AlpacaProvider(RestProvider):
    name = "alpaca"

    def fetch_history(self, request: BarRequest) -> History:
        if request.bar_interval_sec != DAILY_SEC:
            raise DataError(f"alpaca adapter serves daily bars; {request.bar_interval_sec}s asked")
        crypto = classify_symbol(request.symbol) is AssetClass.CRYPTO
        remote = request.symbol.replace("-", "/") if crypto else request.symbol
        path = "/v1beta3/crypto/us/bars" if crypto else "/v2/stocks/bars"
        params: dict[str, Any] = {
            "symbols": remote,
            "timeframe": "1Day",
            "start": iso_day(request.start_ns),
            "end": iso_day(request.end_ns - 1),
            "limit": 10000,
        }
        if not crypto:
            params["adjustment"] = "all"
        pages: list[Any] = []
        rows: list[dict[str, Any]] = []
        while True:
            if len(pages) >= MAX_PAGES:
                raise DataError(f"alpaca {request.symbol}: more than {MAX_PAGES} pages")
            payload = self._client.get_json(path, params)
            pages.append(payload)
            if not isinstance(payload, dict) or not isinstance(payload.get("bars"), dict | None):
                raise DataError(f"alpaca {request.symbol}: expected {{'bars': {{symbol: [...]}}}}")
            by_symbol = payload.get("bars") or {}
            foreign = set(by_symbol) - {remote}
            if foreign:
                raise DataError(
                    f"alpaca {request.symbol}: payload holds bars for {sorted(foreign)}, "
                    f"not {remote!r}"
                )
            rows += list(by_symbol.get(remote) or [])
            token = payload.get("next_page_token")
            if not token:
                break
            params = {**params, "page_token": token}
        if self._archive is not None:
            self._archive.save(request.symbol, self.name, pages)
        return History(self._to_bars(request, rows), pl.DataFrame(schema=ACTIONS_SCHEMA), {})

    def _to_bars(self, request: BarRequest, rows: list[dict[str, Any]]) -> pl.DataFrame:
        if not rows:
            raise DataError(f"alpaca {request.symbol}: no bars in the response")
        try:
            ts = [
                session_day_ns(datetime.fromisoformat(row["t"].replace("Z", "+00:00")).timestamp())
                for row in rows
            ]
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
            bars = bar_frame(
                request.symbol, ts, columns, source=self.name, bar_interval_sec=DAILY_SEC
            )
        except (KeyError, TypeError, ValueError, AttributeError, pl.exceptions.PolarsError) as exc:
            raise DataError(f"alpaca {request.symbol}: malformed bar ({exc!r})") from None
        bars = validate_bars(bars, f"alpaca {request.symbol}")
        return bars.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))
