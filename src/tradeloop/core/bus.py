"""The message bus port and its in-process backend.

Delivery is at least once: a handler that raises leaves its message pending, and it is
delivered again (to this or another consumer of the group). Handlers must therefore be
idempotent; ``Message.message_id`` is stable across redeliveries to make that easy, and
the backends skip a message whose id a group has already acknowledged.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One bus message: a topic, a JSON-safe payload and a stable id."""

    topic: str
    payload: dict[str, Any]
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if not self.topic or any(c.isspace() for c in self.topic):
            raise ValueError(f"topic must be a non-empty word, got {self.topic!r}")
        _require_finite_json(self.payload, f"message {self.message_id} payload")

    def encode(self) -> str:
        return json.dumps(self.payload, sort_keys=True, allow_nan=False)


def _require_finite_json(value: Any, where: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not finite JSON: {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} holds a non-finite number")


Handler = Callable[[Message], None]


class Bus(Protocol):
    """Publish to topics; consume them in named groups with acknowledgements."""

    def publish(self, message: Message) -> str:
        """Append ``message`` to its topic; return its message id."""
        ...

    def consume(
        self, topic: str, group: str, consumer: str, handler: Handler, *, max_messages: int = 100
    ) -> int:
        """Deliver up to ``max_messages`` pending or new messages of ``topic`` to ``handler``
        for ``group``; acknowledge each one it returns from. Return how many were handled."""
        ...


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

    def consume(
        self, topic: str, group: str, consumer: str, handler: Handler, *, max_messages: int = 100
    ) -> int:
        key = (topic, group)
        pending = self._pending.setdefault(key, [])
        done = self._done.setdefault(key, set())
        log = self._log.get(topic, [])
        start = self._offset.get(key, 0)
        fresh = log[start : start + max(0, max_messages - len(pending))]
        self._offset[key] = start + len(fresh)
        pending.extend(fresh)
        handled = 0
        for message in list(pending[:max_messages]):
            if message.message_id not in done:
                handler(message)  # raising leaves this and later messages pending
                done.add(message.message_id)
            pending.remove(message)
            handled += 1
        return handled

    def pending_count(self, topic: str, group: str) -> int:
        return len(self._pending.get((topic, group), []))
