"""Every scalper stage in one process on the in-process bus (``tradeloop scalper run``).

The collector's batch is published, then each stage drains its topics in topology order,
so one batch goes from market data to orders before the next is read. The stages, their
stores and their outputs are the ones the separate services use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradeloop.core.bus import Bus
from tradeloop.usecases.scalper_collector import (
    DEFAULT_PACING,
    CursorStore,
    Pacing,
    TickSource,
)
from tradeloop.usecases.stream_stage import StageRunner


@dataclass(slots=True)
class PipelineStats:
    market_messages: int = 0
    batches: int = 0
    handled: dict[str, int] = field(default_factory=dict)


def run_in_process(
    bus: Bus,
    source: TickSource,
    cursor: CursorStore,
    runners: list[StageRunner],
    *,
    should_stop: Callable[[], bool],
    pacing: Pacing = DEFAULT_PACING,
    archive: Callable[[list[dict[str, Any]]], None] | None = None,
    on_batch: Callable[[PipelineStats], None] | None = None,
) -> PipelineStats:
    stats = PipelineStats()
    started, steps = time.monotonic(), 0
    limit = pacing.max_messages
    while not should_stop() and (limit is None or stats.market_messages < limit):
        batch = source.next_batch(pacing.steps_per_batch, pacing.wall_clock())
        bus.publish_many(batch)
        if archive is not None:
            archive([m.payload for m in batch])
        cursor.save(dict(source.cursor))
        stats.market_messages += len(batch)
        stats.batches += 1
        for runner in runners:
            while runner.run_once():
                pass
            stats.handled[runner.stage.name] = runner.stats.handled
        if on_batch is not None:
            on_batch(stats)
        steps += pacing.steps_per_batch
        pacing.wait(steps, started)
    return stats
