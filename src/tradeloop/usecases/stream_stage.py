"""One stage of a stream topology, and the loop that runs it on a bus.

A stage reads its input topics in a consumer group named after it and turns each message
into output messages. The runner publishes a batch's outputs after the stage stored its
effects (``commit``) and before the bus acknowledges the inputs, so a stage killed at any
point redelivers its input; every output id is derived from its input's id, so a
republished output is the same message and the next stage's group handles it once.

The same stages run over Redis Streams (one process per service) and over the in-process
bus (every stage in one process, the embedded default and tests).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tradeloop.core.bus import Bus, Message
from tradeloop.core.errors import RetryableError
from tradeloop.core.ids import natural_key_id

log = logging.getLogger(__name__)

MARKET = "md"  # book updates and trades from the collector
CANDIDATES = "candidates"  # the signal engine's candidates
SCORED = "scored"  # candidates with the scorer's probability and verdict
APPROVED = "sig:approved"  # what the risk service lets through to the executor
ORDERS = "orders"  # one per order the executor sent (or found sent)
DROPS = "drops"  # a signal a stage dropped, with the stage and the reason
FILLS = "fills"  # executions the venue reported
CONTROL = "control:events"  # HALT, RESUME, CRIT, MODE_SWITCH


def derived_id(stage: str, source_id: str) -> str:
    """The id of what ``stage`` made of message ``source_id``: the same on every retry."""
    return natural_key_id((stage, source_id), 24)


def drop(stage: str, source: Message, reason: str, **extra: object) -> Message:
    """The record that ``stage`` dropped ``source`` (one per input, by its derived id)."""
    payload = {
        "stage": stage,
        "source_topic": source.topic,
        "source_id": source.message_id,
        "signal_id": source.payload.get("signal_id", source.message_id),
        "reason": reason,
        **extra,
    }
    return Message(DROPS, payload, derived_id(f"{stage}:drop", source.message_id))


class DecisionLog(Protocol):
    """Where a stage stores what it decided per input message (SQL ``stream_decision``)."""

    def get(self, stage: str, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def record(
        self, stage: str, decisions: dict[str, dict[str, Any]], now: int
    ) -> dict[str, dict[str, Any]]:
        """Store each decision unless one is stored; return the stored ones."""
        ...

    def since(self, stage: str, since_ns: int) -> list[dict[str, Any]]:
        """The decisions recorded at or after ``since_ns``, oldest first."""
        ...


class MemoryDecisionLog:
    """A DecisionLog in a dictionary (an earlier decision wins): one-process simulations
    (the release's canary pipeline) and tests."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}

    def get(self, stage: str, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {m: self.rows[(stage, m)][1] for m in message_ids if (stage, m) in self.rows}

    def record(
        self, stage: str, decisions: dict[str, dict[str, Any]], now: int
    ) -> dict[str, dict[str, Any]]:
        for message_id, decision in decisions.items():
            self.rows.setdefault((stage, message_id), (now, dict(decision)))
        return self.get(stage, decisions)

    def since(self, stage: str, since_ns: int) -> list[dict[str, Any]]:
        found = [(ts, d) for (s, _), (ts, d) in self.rows.items() if s == stage and ts >= since_ns]
        return [d for _, d in sorted(found, key=lambda item: item[0])]


@dataclass(slots=True)
class Decisions:
    """A stage's decisions of one batch: looked up for a redelivered message, written
    together at ``commit`` (before the outputs are published)."""

    log: DecisionLog
    stage: str
    clock: Callable[[], int]
    _batch: list[tuple[Message, dict[str, Any]]] = field(default_factory=list)

    def stored(self, message: Message) -> dict[str, Any] | None:
        if not message.redelivered:
            return None  # first delivery: nothing can have been decided
        return self.log.get(self.stage, [message.message_id]).get(message.message_id)

    def add(self, message: Message, decision: dict[str, Any]) -> None:
        self._batch.append((message, decision))

    def commit(self) -> list[tuple[Message, dict[str, Any]]]:
        if not self._batch:
            return []
        batch, self._batch = self._batch, []
        stored = self.log.record(self.stage, {m.message_id: d for m, d in batch}, self.clock())
        return [(m, stored.get(m.message_id, d)) for m, d in batch]


class Stage(Protocol):
    """A step of the topology: its name (the consumer group), the topics it reads, and
    what one message becomes."""

    name: str

    def topics(self) -> tuple[str, ...]: ...

    def handle(self, message: Message) -> list[Message]: ...

    def commit(self) -> list[Message]:
        """Store the effects of the messages handled since the last commit, and return
        the outputs that depend on what was stored (called before the outputs are
        published and the inputs acknowledged)."""
        ...


@dataclass(slots=True)
class RunnerStats:
    handled: int = 0
    published: int = 0
    retries: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


class StageRunner:
    """Consume a stage's topics in its group, publish its outputs, retry what is transient."""

    def __init__(
        self,
        bus: Bus,
        stage: Stage,
        consumer: str,
        *,
        batch: int = 200,
        group_of: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus = bus
        self.stage = stage
        self.consumer = consumer
        self.batch = batch
        self.group_of = group_of or (lambda topic: stage.name)
        self.stats = RunnerStats()
        self._sleep = sleep
        self._outputs: list[Message] = []

    def _handle(self, message: Message) -> None:
        self._outputs.extend(self.stage.handle(message))

    def _flush(self) -> list[Message]:
        """Store the batch's effects; its outputs go to the bus, published before the
        inputs are acknowledged."""
        outputs = [*self._outputs, *self.stage.commit()]
        self._outputs = []
        self.stats.published += len(outputs)
        return outputs

    def run_once(self) -> int:
        """One pass over every input topic; how many messages were handled."""
        handled = 0
        topics = self.stage.topics()
        for topic in topics:
            self._outputs = []
            count = self.bus.consume(
                topic,
                self.group_of(topic),
                self.consumer,
                self._handle,
                max_messages=self.batch,
                before_ack=self._flush,
                # wait for new messages on the main topic only, and only when idle so far
                block=topic == topics[-1] and handled == 0,
            )
            handled += count
            self.stats.by_topic[topic] = self.stats.by_topic.get(topic, 0) + count
        self.stats.handled += handled
        return handled

    def run(
        self,
        should_stop: Callable[[], bool],
        *,
        idle_sleep_s: float = 0.0,
        max_backoff_s: float = 5.0,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """Until ``should_stop``: a failure the bus calls transient (Redis restarting) is
        retried with a doubling back-off; nothing was acknowledged, so nothing is lost."""
        backoff = 0.0
        while not should_stop():
            try:
                handled = self.run_once()
            except RetryableError as exc:
                backoff = min(max(backoff * 2, 0.05), max_backoff_s)
                self.stats.retries += 1
                log.warning("%s: %s; retrying in %.2f s", self.stage.name, exc, backoff)
                self._sleep(backoff)
                continue
            backoff = 0.0
            if on_idle is not None:
                on_idle()
            if not handled and idle_sleep_s:
                self._sleep(idle_sleep_s)
