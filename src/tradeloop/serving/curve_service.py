"""The prediction curve as a service: a symbol's latest curve from the registered curve
model and its stored daily bars (``POST /v1/inference/predict/{symbol}`` on the scorer,
``tradeloop curve predict``). Daily features change once a session, so a symbol's
feature row is kept for ``cache_seconds`` and the model answers from memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tradeloop.core.time import iso_from_ns
from tradeloop.models.curve_model import CurveModel

FeaturesOf = Callable[[str], tuple[int, np.ndarray]]  # symbol -> (session ts, feature row)


class CurvePredictor:
    def __init__(
        self,
        model: CurveModel,
        version_id: str,
        features_of: FeaturesOf,
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model, self.version_id, self.features_of = model, version_id, features_of
        self.cache_seconds, self.clock = cache_seconds, clock
        self._cache: dict[str, tuple[float, int, np.ndarray]] = {}
        self._lock = threading.Lock()

    def _features(self, symbol: str) -> tuple[int, np.ndarray]:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(symbol)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1], hit[2]
        ts, row = self.features_of(symbol)  # DataError for unknown / short history
        with self._lock:
            self._cache[symbol] = (now, ts, row)
        return ts, row

    def predict(self, symbol: str) -> dict[str, Any]:
        """The curve of ``symbol`` as of its newest stored session."""
        ts, row = self._features(symbol)
        return {
            "symbol": symbol,
            "as_of_session": iso_from_ns(ts)[:10],
            "model_version_id": self.version_id,
            **self.model.summary(row),
        }
