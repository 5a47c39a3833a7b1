"""The collector: market data from a source onto the ``md`` stream, paced, resumable.

A source hands out batches of messages with deterministic ids and a cursor saying where it
stands. The collector publishes a batch, then saves the cursor: killed between the two, it
starts again from the older cursor and republishes the same messages, which the stages'
groups handle once. A lost connection to the bus is retried; the batch waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tradeloop.core.bus import Bus, Message
from tradeloop.core.errors import RetryableError

log = logging.getLogger(__name__)


class TickSource(Protocol):
    cursor: dict[str, Any]

    def next_batch(self, steps: int, wall_ns: int) -> list[Message]: ...


class CursorStore(Protocol):
    def load(self) -> dict[str, Any] | None: ...

    def save(self, cursor: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast a tape is published: steps per batch, steps per second (None: as fast as
    the bus takes them), a cap on messages, and the clocks."""

    steps_per_batch: int = 10
    steps_per_s: float | None = None
    max_messages: int | None = None
    wall_clock: Callable[[], int] = time.time_ns
    sleep: Callable[[float], None] = time.sleep

    def wait(self, steps: int, started: float) -> None:
        if self.steps_per_s:
            ahead = steps / self.steps_per_s - (time.monotonic() - started)
            if ahead > 0:
                self.sleep(ahead)


DEFAULT_PACING = Pacing()


@dataclass(slots=True)
class CollectorStats:
    published: int = 0
    batches: int = 0
    retries: int = 0


def run_collector(
    bus: Bus,
    source: TickSource,
    cursor: CursorStore,
    *,
    should_stop: Callable[[], bool],
    pacing: Pacing = DEFAULT_PACING,
    on_batch: Callable[[CollectorStats], None] | None = None,
    archive: Callable[[list[dict[str, Any]]], None] | None = None,
) -> CollectorStats:
    """Publish until ``should_stop`` (or ``pacing.max_messages``)."""
    stats = CollectorStats()
    started = time.monotonic()
    steps = 0
    limit = pacing.max_messages
    while not should_stop() and (limit is None or stats.published < limit):
        batch = source.next_batch(pacing.steps_per_batch, pacing.wall_clock())
        _publish(bus, batch, stats, should_stop, pacing.sleep)
        if archive is not None:
            archive([m.payload for m in batch])
        cursor.save(dict(source.cursor))
        stats.published += len(batch)
        stats.batches += 1
        steps += pacing.steps_per_batch
        if on_batch is not None:
            on_batch(stats)
        pacing.wait(steps, started)
    return stats


def _publish(
    bus: Bus,
    batch: list[Message],
    stats: CollectorStats,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], None],
) -> None:
    backoff = 0.05
    while True:
        try:
            bus.publish_many(batch)
            return
        except RetryableError as exc:
            stats.retries += 1
            if should_stop():
                raise
            log.warning("collector: %s; retrying in %.2f s", exc, backoff)
            sleep(backoff)
            backoff = min(backoff * 2, 5.0)
