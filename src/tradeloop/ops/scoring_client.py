"""The collector's side of scoring: POST new events to the scorer, log its predictions.

Contract with ``tradeloop serve scorer`` ([model-lifecycle])::

    POST /score
    {"events": [{"event_id": "...", "symbol": "SPY", "ts_event": 1710000000000000000,
                 "feature_schema_hash": "...", "features": {"distance_bps": 1.2, ...}}]}
    200 {"model_version_id": "...", "alias": "active", "is_preview": false,
         "predictions": [{"event_id": "...", "target": "held", "horizon": 15,
                          "score": 0.61, "quality_flags": []}]}

Predictions land in ``prediction_log`` (insert-only: readers take each key's first score);
``is_preview`` is 0 only for a promoted model's tradeable signal.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import polars as pl

from tradeloop.core.errors import DataError, RetryableError
from tradeloop.features.touch_events import EVENT_SCHEMA


class ScorerClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._client = httpx.Client(
            base_url=base_url, timeout=timeout_s, transport=transport, headers=headers
        )

    def close(self) -> None:
        self._client.close()

    def score(self, events: pl.DataFrame) -> dict[str, Any]:
        """The scorer's answer for ``events``; RetryableError when it cannot be reached."""
        payload = {
            "events": [
                {
                    "event_id": row["event_id"],
                    "symbol": row["symbol"],
                    "ts_event": row["ts_event"],
                    "feature_schema_hash": EVENT_SCHEMA.schema_hash,
                    "features": {name: row[name] for name in EVENT_SCHEMA.names},
                }
                for row in events.iter_rows(named=True)
            ]
        }
        try:
            response = self._client.post("/score", content=json.dumps(payload, allow_nan=False))
        except httpx.TransportError as exc:
            # A timeout may have been scored: the next poll re-sends, and logging is idempotent.
            raise RetryableError(f"scorer unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise RetryableError(f"scorer answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise DataError(
                f"scorer refused the events: HTTP {response.status_code} {response.text[:200]}"
            )
        try:
            answer: dict[str, Any] = response.json()
            answer["predictions"]
        except (ValueError, KeyError, TypeError):
            raise DataError("scorer answered malformed JSON (no predictions)") from None
        return answer


def prediction_rows(
    events: pl.DataFrame, answer: dict[str, Any], now_ns: int
) -> list[dict[str, Any]]:
    """The ``prediction_log`` rows of the scorer's answer for ``events``."""
    symbols = dict(zip(events["event_id"].to_list(), events["symbol"].to_list(), strict=True))
    return [
        {
            "event_id": item["event_id"],
            "symbol": symbols.get(item["event_id"], ""),
            "model_version_id": str(answer.get("model_version_id") or "none"),
            "target": str(item["target"]),
            "horizon": int(item["horizon"]),
            "score": float(item["score"]),
            "is_preview": bool(answer.get("is_preview", True)),
            "is_shadow": False,
            "quality_flags": ",".join(item.get("quality_flags") or []),
            "ts_scored": now_ns,
            "source": "collector",
        }
        for item in answer["predictions"]
        if item.get("event_id") in symbols
    ]
