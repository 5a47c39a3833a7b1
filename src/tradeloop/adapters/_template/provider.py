"""A bar provider over the simplest JSON API: ``GET {base}/bars/{symbol}?start=&end=&interval=``
answering ``{"symbol": "SPY", "bars": [{"t": <epoch ms>, "o", "h", "l", "c", "v"}, ...]}``.

Copy it to ``adapters/<name>/provider.py`` to add a provider, then change three things:
the request (``_path``, ``_params``), the payload's shape (``_rows``) and, if the venue's
timestamps are not bar opens in UTC, the time conversion. What stays is what every
provider owes the ingestion path, checked by ``tests/contracts/test_provider_contract.py``:

- HTTP through ``HttpJsonClient``: retries with backoff on 429 / 5xx / timeouts (then a
  ``RetryableError``, exit 3), 401/403 as ``EntitlementError``, a rate limit per minute,
  credentials in headers only (never in a URL that could be logged or archived);
- the raw payload archived when an archive is given (``RawArchive``), before parsing;
- a frame of ``BAR_SCHEMA`` (``bar_frame``), validated (``validate_bars``: OHLC
  consistency, no duplicate timestamps) and cut to ``[start_ns, end_ns)``; an answer for
  another symbol or a malformed row is a ``DataError`` naming the symbol and the field.

Register it in ``bootstrap.build_providers`` (one entry) with its config / credentials.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from tradeloop.adapters.rest_provider import RestProvider
from tradeloop.core.errors import DataError
from tradeloop.data.ports import ACTIONS_SCHEMA, BarRequest, History
from tradeloop.data.validation import validate_bars
from tradeloop.domain.bar import bar_frame

FIELDS = (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v"))


class JsonBarsProvider(RestProvider):
    name = "json_bars"

    def fetch_history(self, request: BarRequest) -> History:
        payload = self._client.get_json(self._path(request), self._params(request))
        if self._archive is not None:
            self._archive.save(request.symbol, self.name, [payload])
        rows = self._rows(request, payload)
        return History(self._to_bars(request, rows), pl.DataFrame(schema=ACTIONS_SCHEMA), {})

    def _path(self, request: BarRequest) -> str:
        return f"/bars/{request.symbol}"

    def _params(self, request: BarRequest) -> dict[str, Any]:
        return {
            "start": request.start_ns // 1_000_000,
            "end": request.end_ns // 1_000_000,
            "interval": request.bar_interval_sec,
        }

    def _rows(self, request: BarRequest, payload: Any) -> list[dict[str, Any]]:
        where = f"{self.name} {request.symbol}"
        if not isinstance(payload, dict) or not isinstance(payload.get("bars"), list):
            raise DataError(f"{where}: expected an object with a 'bars' list")
        if payload.get("symbol") not in (None, request.symbol):
            raise DataError(f"{where}: payload is for {payload.get('symbol')!r}")
        rows: list[dict[str, Any]] = payload["bars"]
        return rows

    def _to_bars(self, request: BarRequest, rows: list[dict[str, Any]]) -> pl.DataFrame:
        where = f"{self.name} {request.symbol}"
        try:
            ts = [int(row["t"]) * 1_000_000 for row in rows]
            columns = {name: [row.get(key) for row in rows] for name, key in FIELDS}
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{where}: malformed bar ({exc!r}); each needs t, o, h, l, c, v"
            ) from None
        bars = bar_frame(
            request.symbol,
            ts,
            columns,
            source=self.name,
            bar_interval_sec=request.bar_interval_sec,
        )
        bars = validate_bars(bars, where)
        return bars.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))
