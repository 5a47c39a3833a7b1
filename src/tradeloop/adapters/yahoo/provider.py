"""The ``yahoo`` provider: ``GET /v8/finance/chart/{symbol}`` (the API yfinance wraps).

One request returns OHLCV, adjusted close, splits and dividends and the symbol's
metadata. Timestamps are session opens; they become 00:00 UTC of the session date in the
exchange's timezone (``meta.exchangeTimezoneName``). Rows whose prices are all null
(Yahoo's placeholders for non-trading days) are dropped; partially null rows are kept so
that validation rejects them.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from tradeloop.adapters.rest_provider import RestProvider
from tradeloop.adapters.session_day import session_day_ns
from tradeloop.core.errors import DataError
from tradeloop.core.time import NS_PER_SECOND
from tradeloop.data.ports import ACTIONS_SCHEMA, BarRequest, History
from tradeloop.data.validation import validate_bars
from tradeloop.domain.bar import DAILY_SEC, bar_frame

YAHOO_INTERVALS = {60: "1m", 300: "5m", 900: "15m", 1800: "30m", 3600: "60m", DAILY_SEC: "1d"}
_METADATA_KEYS = (
    "currency",
    "exchangeName",
    "instrumentType",
    "exchangeTimezoneName",
    "longName",
    "shortName",
)


class YahooProvider(RestProvider):
    name = "yahoo"

    def fetch_history(self, request: BarRequest) -> History:
        if request.bar_interval_sec not in YAHOO_INTERVALS:
            raise DataError(
                f"yahoo serves bar_interval_sec in {sorted(YAHOO_INTERVALS)}; "
                f"{request.bar_interval_sec} was asked"
            )
        payload = self._client.get_json(
            f"/v8/finance/chart/{request.symbol}",
            {
                "period1": request.start_ns // NS_PER_SECOND,
                "period2": request.end_ns // NS_PER_SECOND,
                "interval": YAHOO_INTERVALS[request.bar_interval_sec],
                "events": "div,splits",
                "includeAdjustedClose": "true",
            },
        )
        if self._archive is not None:
            self._archive.save(request.symbol, self.name, payload)
        result = self._result(request.symbol, payload)
        meta = result.get("meta") or {}
        if meta.get("symbol") not in (None, request.symbol):
            raise DataError(
                f"yahoo {request.symbol}: payload is for {meta.get('symbol')!r}, "
                f"not {request.symbol!r}"
            )
        timezone = str(meta.get("exchangeTimezoneName") or "America/New_York")
        bars = self._bars(request, result, timezone)
        actions = self._actions(request.symbol, result.get("events") or {}, timezone)
        metadata = {key: str(meta[key]) for key in _METADATA_KEYS if meta.get(key) is not None}
        return History(bars, actions, metadata)

    @staticmethod
    def _result(symbol: str, payload: Any) -> dict[str, Any]:
        chart = payload.get("chart") if isinstance(payload, dict) else None
        if not isinstance(chart, dict):
            raise DataError(f"yahoo {symbol}: expected {{'chart': {{...}}}}")
        if chart.get("error"):
            error = chart["error"]
            raise DataError(f"yahoo {symbol}: {error.get('code')}: {error.get('description')}")
        results = chart.get("result")
        if not results or not isinstance(results, list) or not isinstance(results[0], dict):
            raise DataError(f"yahoo {symbol}: no result in the response")
        return results[0]

    def _bars(self, request: BarRequest, result: dict[str, Any], timezone: str) -> pl.DataFrame:
        try:
            stamps = result.get("timestamp") or []
            quote = result["indicators"]["quote"][0]
            adjusted = (result["indicators"].get("adjclose") or [{}])[0].get("adjclose")
            columns: dict[str, list[Any]] = {
                name: list(quote.get(name) or [None] * len(stamps))
                for name in ("open", "high", "low", "close", "volume")
            }
            columns["adj_close"] = list(adjusted) if adjusted else list(columns["close"])
            if any(len(values) != len(stamps) for values in columns.values()):
                raise ValueError("indicator arrays and timestamps differ in length")
            keep = [
                i
                for i in range(len(stamps))
                if any(columns[name][i] is not None for name in ("open", "high", "low", "close"))
            ]
            if request.bar_interval_sec == DAILY_SEC:
                ts = [session_day_ns(float(stamps[i]), timezone) for i in keep]
            else:  # intraday bars keep their open time
                ts = [int(stamps[i]) * NS_PER_SECOND for i in keep]
            selected = {name: [values[i] for i in keep] for name, values in columns.items()}
            selected["volume"] = [0.0 if v is None else v for v in selected["volume"]]
            bars = bar_frame(
                request.symbol,
                ts,
                selected,
                source=self.name,
                bar_interval_sec=request.bar_interval_sec,
            )
        except (KeyError, IndexError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:
            raise DataError(f"yahoo {request.symbol}: malformed chart ({exc!r})") from None
        if bars.is_empty():
            raise DataError(f"yahoo {request.symbol}: no bars in the response")
        bars = validate_bars(bars, f"yahoo {request.symbol}")
        return bars.filter((pl.col("ts") >= request.start_ns) & (pl.col("ts") < request.end_ns))

    def _actions(self, symbol: str, events: dict[str, Any], timezone: str) -> pl.DataFrame:
        rows: list[dict[str, Any]] = []
        try:
            for item in (events.get("splits") or {}).values():
                ratio = float(item["numerator"]) / float(item["denominator"])
                rows.append(
                    {
                        "symbol": symbol,
                        "ts": session_day_ns(float(item["date"]), timezone),
                        "kind": "split",
                        "value": ratio,
                        "source": self.name,
                    }
                )
            for item in (events.get("dividends") or {}).values():
                rows.append(
                    {
                        "symbol": symbol,
                        "ts": session_day_ns(float(item["date"]), timezone),
                        "kind": "dividend",
                        "value": float(item["amount"]),
                        "source": self.name,
                    }
                )
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            raise DataError(f"yahoo {symbol}: malformed corporate action ({exc!r})") from None
        return pl.DataFrame(rows, schema=ACTIONS_SCHEMA).sort("ts", "kind")
