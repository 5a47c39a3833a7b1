"""Writes scored predictions to ``prediction_log`` off the request path.

Scoring never waits for the database: rows go to a bounded queue that a background thread
drains in batches into the injected sink (an idempotent upsert by natural key, so a retried
batch cannot duplicate). When the database is down the thread retries with backoff; when
the queue is full the newest rows are dropped and counted, and scoring carries on.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

Sink = Callable[[Sequence[dict[str, Any]]], object]
log = logging.getLogger(__name__)


class PredictionWriter:
    """A bounded buffer in front of ``sink``, flushed every ``flush_ms`` by one thread."""

    def __init__(self, sink: Sink, *, max_rows: int, flush_ms: int, batch_rows: int = 5000):
        self._sink = sink
        self._max_rows = max_rows
        self._flush_s = flush_ms / 1000
        self._batch_rows = batch_rows
        self._rows: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self.last_error = ""
        self._thread = threading.Thread(target=self._run, name="prediction-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            room = self._max_rows - len(self._rows)
            if room < len(rows):
                self.dropped += len(rows) - max(room, 0)
                rows = rows[: max(room, 0)]
            self._rows.extend(rows)

    @property
    def pending(self) -> int:
        return len(self._rows)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (or the timeout passes)."""
        deadline = time.monotonic() + timeout_s
        while self._rows and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return not self._rows

    def close(self, timeout_s: float = 10.0) -> None:
        self.flush(timeout_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            count = min(len(self._rows), self._batch_rows)
            return [self._rows.popleft() for _ in range(count)]

    def _put_back(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            self._rows.extendleft(reversed(batch))

    def _run(self) -> None:
        backoff = self._flush_s
        while not self._stop.is_set():
            self._wake.wait(backoff)
            self._wake.clear()
            while batch := self._take():
                try:
                    self._sink(batch)
                except Exception as exc:  # the database may be down: keep rows, retry later
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                    log.warning("prediction_log write failed (will retry): %s", self.last_error)
                    self._put_back(batch)
                    backoff = min(backoff * 2, 30.0)
                    break
                self.written += len(batch)
                backoff = self._flush_s
