"""The message bus port and its in-process backend.

Delivery is at least once: a handler that raises leaves its message pending, and it is
delivered again (to this or another consumer of the group). Handlers must therefore be
idempotent; ``Message.message_id`` is stable across redeliveries to make that easy, and
the backends skip a message whose id a group has already acknowledged.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

_TOPIC = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Message:
    """One bus message: a topic, a JSON-safe payload and a stable id."""

    topic: str
    payload: dict[str, Any]
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Delivered before and never acknowledged (its consumer died or its handler raised):
    # a stage then looks up what it decided the first time.
    redelivered: bool = field(default=False, compare=False)
    # The payload's JSON, made once: checking it is finite JSON and sending it are one job.
    wire: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _TOPIC.fullmatch(self.topic):
            raise ValueError(f"topic must be a non-empty word, got {self.topic!r}")
        if not self.wire:
            object.__setattr__(
                self, "wire", _finite_json(self.payload, f"message {self.message_id} payload")
            )

    def encode(self) -> str:
        return self.wire

    @classmethod
    def from_wire(
        cls, topic: str, wire: str, message_id: str, redelivered: bool = False
    ) -> Message:
        """A message as a backend read it back: its JSON is its wire form already."""
        return cls(topic, json.loads(wire), message_id, redelivered, wire)


def _finite_json(value: Any, where: str) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not finite JSON: {exc}") from None


Handler = Callable[[Message], None]
# Called once per consumed batch, after its handlers returned and before it is
# acknowledged: where a stage stores its effects and hands back what the batch produced;
# the bus publishes that, then acknowledges (a crash between the two redelivers the input,
# and the outputs' deterministic ids make the republish a no-op downstream).
BeforeAck = Callable[[], "list[Message] | None"]


class Bus(Protocol):
    """Publish to topics; consume them in named groups with acknowledgements."""

    def publish(self, message: Message) -> str:
        """Append ``message`` to its topic; return its message id."""
        ...

    def publish_many(self, messages: list[Message]) -> None:
        """Append ``messages`` in order (one round trip where the backend allows)."""
        ...

    def consume(
        self,
        topic: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        max_messages: int = 100,
        before_ack: BeforeAck | None = None,
        block: bool = True,
    ) -> int:
        """Deliver up to ``max_messages`` pending or new messages of ``topic`` to ``handler``
        for ``group``; acknowledge each one it returns from (after ``before_ack``). Return
        how many were handled. ``block``: wait a little for new messages when there are
        none (a consumer of several topics waits on one)."""
        ...

    def backlog(self, topic: str, group: str) -> int:
        """Messages of ``topic`` the group has not acknowledged yet (pending + unread)."""
        ...


_TRIM_AFTER = 50_000  # read messages an in-process topic keeps before trimming its head


class InProcessBus:
    """A bus inside one process: ordered topic logs, per-group offsets and pending lists."""

    def __init__(self) -> None:
        self._log: dict[str, list[Message]] = {}
        self._offset: dict[tuple[str, str], int] = {}
        self._pending: dict[tuple[str, str], list[Message]] = {}
        self._done: dict[tuple[str, str], set[str]] = {}

    def publish(self, message: Message) -> str:
        self._log.setdefault(message.topic, []).append(message)
        return message.message_id

    def publish_many(self, messages: list[Message]) -> None:
        for message in messages:
            self.publish(message)

    def backlog(self, topic: str, group: str) -> int:
        key = (topic, group)
        unread = len(self._log.get(topic, [])) - self._offset.get(key, 0)
        return unread + len(self._pending.get(key, []))

    def consume(
        self,
        topic: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        max_messages: int = 100,
        before_ack: BeforeAck | None = None,
        block: bool = True,
    ) -> int:
        key = (topic, group)
        pending = self._pending.setdefault(key, [])
        done = self._done.setdefault(key, set())
        log = self._log.get(topic, [])
        start = self._offset.get(key, 0)
        fresh = log[start : start + max(0, max_messages - len(pending))]
        self._offset[key] = start + len(fresh)
        pending[:] = [dataclasses.replace(m, redelivered=True) for m in pending]
        pending.extend(fresh)
        if start > _TRIM_AFTER:
            self._trim(topic)
        batch = pending[:max_messages]
        handled = 0
        try:
            for message in batch:
                if message.message_id not in done:
                    handler(message)  # raising leaves this and later messages pending
                    done.add(message.message_id)
                handled += 1
        finally:
            if handled:
                outputs = before_ack() if before_ack is not None else None
                for output in outputs or []:
                    self.publish(output)
                del pending[:handled]
        return handled

    def _trim(self, topic: str) -> None:
        """Forget the head of a topic's log every group has read (a long run stays small);
        a group that joins later starts at what is left."""
        groups = [key for key in self._offset if key[0] == topic]
        read = min(self._offset[key] for key in groups)
        if read > _TRIM_AFTER:
            del self._log[topic][:read]
            for key in groups:
                self._offset[key] -= read

    def pending_count(self, topic: str, group: str) -> int:
        return len(self._pending.get((topic, group), []))
