"""The research job queue on Redis Streams, through the bus: stream
``<prefix>:research.jobs``, consumer group ``research-workers``; a job id is acknowledged
after ``handle`` returns (its outcome and artifacts stored); a worker that died holding a
job leaves it pending, and another worker claims it once it has been idle for
``claim_idle_ms`` (the job store then says whether it finished: a finished job is
skipped)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tradeloop.adapters.redis.bus import RedisStreamsBus
from tradeloop.core.bus import Message

TOPIC, GROUP = "research.jobs", "research-workers"


class RedisJobQueue:
    def __init__(
        self, url: str, *, prefix: str = "tradeloop", claim_idle_ms: int = 600_000
    ) -> None:
        self.bus = RedisStreamsBus(url, prefix=prefix, claim_idle_ms=claim_idle_ms, block_ms=200)

    def submit(self, job_id: str) -> None:
        self.bus.publish(Message(TOPIC, {"job_id": job_id}, message_id=job_id))

    def work(self, handle: Callable[[str], None], stop: threading.Event, consumer: str) -> None:
        while not stop.is_set():
            self.bus.consume(
                TOPIC, GROUP, consumer, lambda message: handle(str(message.payload["job_id"])),
                max_messages=1,
            )  # fmt: skip
