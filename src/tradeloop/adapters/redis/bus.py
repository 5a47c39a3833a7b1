"""The bus on Redis Streams: consumer groups, acknowledgements, pending recovery.

Each topic is the stream ``<prefix>:<topic>``. A message is acknowledged (XACK) only
after its handler returns, so a consumer that dies leaves it pending; another consumer
claims it (XAUTOCLAIM) once it has been idle for ``claim_idle_ms``. A per-group set of
handled message ids makes redelivery after a crash between handling and XACK harmless.

A message whose handler keeps failing is not retried forever ahead of everything else:
after ``max_deliveries`` failed attempts its next delivery moves it to the dead-letter
stream ``<prefix>:<topic>:dead`` (with the group and the last error), acknowledged and
counted (``dead_lettered``), and the messages behind it flow again.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from tradeloop.core.bus import BeforeAck, Handler, Message
from tradeloop.core.errors import RetryableError, StorageError


class RedisStreamsBus:
    """At-least-once delivery with idempotent handling on Redis Streams."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tradeloop",
        claim_idle_ms: int = 30_000,
        block_ms: int = 0,
        maxlen: int = 100_000,
        done_ttl_sec: int = 7 * 86_400,
        max_deliveries: int = 5,
    ) -> None:
        if max_deliveries < 1:
            raise ValueError(f"max_deliveries must be >= 1, got {max_deliveries}")
        self._client: redis.Redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=10
        )
        self.prefix = prefix
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        self.maxlen = maxlen
        self.done_ttl_sec = done_ttl_sec
        self.max_deliveries = max_deliveries
        self.dead_lettered = 0  # messages this bus object moved to a dead-letter stream
        self._groups: set[tuple[str, str]] = set()  # groups known to exist
        self._own_clear: set[tuple[str, str, str]] = set()  # consumers with nothing pending
        self._next_claim: dict[tuple[str, str], float] = {}
        try:
            self._client.ping()
        except redis.ConnectionError as exc:
            where = self._client.connection_pool.connection_kwargs
            raise StorageError(
                f"cannot reach Redis at {where.get('host')}:{where.get('port')}: {exc}. "
                "Fix: start Redis or correct TRADELOOP_REDIS_URL."
            ) from None

    def stream(self, topic: str) -> str:
        return f"{self.prefix}:{topic}"

    def _done_key(self, topic: str, group: str) -> str:
        return f"{self.prefix}:{topic}:{group}:done"

    def _failures_key(self, topic: str, group: str) -> str:
        return f"{self.prefix}:{topic}:{group}:failures"

    def dead_stream(self, topic: str) -> str:
        return f"{self.prefix}:{topic}:dead"

    def publish(self, message: Message) -> str:
        try:
            self._client.xadd(
                self.stream(message.topic),
                {"id": message.message_id, "payload": message.encode()},
                maxlen=self.maxlen,
                approximate=True,
            )
        except (redis.TimeoutError, redis.ConnectionError) as exc:
            # The write may have landed: report "unknown", never "rejected".
            raise RetryableError(f"publish of {message.message_id} timed out: {exc}") from None
        return message.message_id

    def _ensure_group(self, stream: str, group: str) -> None:
        try:
            self._client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish_many(self, messages: list[Message]) -> None:
        if not messages:
            return
        pipe = self._client.pipeline(transaction=False)
        for message in messages:
            pipe.xadd(
                self.stream(message.topic),
                {"id": message.message_id, "payload": message.encode()},
                maxlen=self.maxlen,
                approximate=True,
            )
        try:
            pipe.execute()
        except (redis.TimeoutError, redis.ConnectionError) as exc:
            # Some may have landed: the ids are deterministic, so a retry dedupes downstream.
            raise RetryableError(f"publish of {len(messages)} messages failed: {exc}") from None

    def backlog(self, topic: str, group: str) -> int:
        stream = self.stream(topic)
        self._ensure_group(stream, group)
        groups: Any = self._client.xinfo_groups(stream)
        for info in groups:
            if info["name"] == group:
                lag = info.get("lag")
                if lag is None:  # Redis cannot tell after trimming: count what is unread
                    unread: Any = self._client.xrange(stream, f"({info['last-delivered-id']}", "+")
                    lag = len(unread)
                return int(lag) + int(info["pending"])
        return 0

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
        stream = self.stream(topic)
        try:
            return self._consume(
                topic, group, consumer, handler, max_messages, before_ack, block=block
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Redis restarting or unreachable: nothing was acknowledged, so nothing is lost.
            self._forget(stream, group, consumer)
            raise RetryableError(f"Redis unavailable while consuming {topic}: {exc}") from None
        except BaseException:
            self._forget(stream, group, consumer)  # our own pending entries: read them again
            raise

    def _forget(self, stream: str, group: str, consumer: str) -> None:
        self._groups.discard((stream, group))
        self._own_clear.discard((stream, group, consumer))

    def _read(
        self, stream: str, group: str, consumer: str, count: int, block: bool
    ) -> list[tuple[str, dict[str, str], bool]]:
        if (stream, group) not in self._groups:
            self._ensure_group(stream, group)
            self._groups.add((stream, group))
        entries: list[Any] = []
        # 1. Our own pending entries (delivered to us before, never acknowledged): read
        # after a start, a failure or a claim, until none is left.
        own_key = (stream, group, consumer)
        if own_key not in self._own_clear:
            own: Any = self._client.xreadgroup(group, consumer, {stream: "0"}, count=count)
            batch = [entry for _, items in own for entry in items]
            gone = [entry_id for entry_id, fields in batch if not fields]
            if gone:  # trimmed from the stream before anyone handled them: nothing to do
                self._client.xack(stream, group, *gone)
            entries += [entry for entry in batch if entry[1]]
            if not batch:
                self._own_clear.add(own_key)
        redelivered = len(entries)
        # 2. Entries abandoned by a dead consumer of the group (looked for every half idle
        # time: they cannot be claimed sooner anyway).
        now = time.monotonic()
        if len(entries) < count and now >= self._next_claim.get((stream, group), 0.0):
            self._next_claim[(stream, group)] = now + self.claim_idle_ms / 2000
            claimed: Any = self._client.xautoclaim(
                stream, group, consumer, self.claim_idle_ms, "0-0", count=count - len(entries)
            )
            taken = [entry for entry in claimed[1] if entry and entry[1]]
            if taken:
                self._own_clear.discard(own_key)
            entries += taken
            redelivered = len(entries)
        # 3. New entries.
        if len(entries) < count:
            fresh: Any = self._client.xreadgroup(
                group,
                consumer,
                {stream: ">"},
                count=count - len(entries),
                block=(self.block_ms or None) if block and not entries else None,
            )
            entries += [entry for _, batch in fresh for entry in batch]
        # Our own pending entries may come back from XAUTOCLAIM too: each once.
        unique: dict[str, tuple[str, dict[str, str], bool]] = {}
        for index, (entry_id, fields) in enumerate(entries):
            unique.setdefault(entry_id, (entry_id, fields, index < redelivered))
        return list(unique.values())

    def _consume(
        self,
        topic: str,
        group: str,
        consumer: str,
        handler: Handler,
        max_messages: int,
        before_ack: BeforeAck | None,
        *,
        block: bool,
    ) -> int:
        stream = self.stream(topic)
        entries = self._read(stream, group, consumer, max_messages, block)
        if not entries:
            return 0
        done_key, failures_key = self._done_key(topic, group), self._failures_key(topic, group)
        ids = [fields["id"] for _, fields, _ in entries]
        # One round trip for the whole batch's bookkeeping, not five per message; a failure
        # count can only exist for a message delivered before.
        if any(again for _, _, again in entries):
            pipe = self._client.pipeline(transaction=False)
            pipe.hmget(failures_key, ids)
            pipe.smismember(done_key, ids)
            failures, seen = pipe.execute()
        else:
            failures, seen = [None] * len(ids), self._client.smismember(done_key, ids)
        finished: list[tuple[str, str]] = []  # (entry id, message id) handled or skipped
        handled_now: set[str] = set()  # the same id twice in one batch: handled once
        try:
            for (entry_id, fields, again), failed, was_done in zip(
                entries, failures, seen, strict=True
            ):
                message = Message.from_wire(topic, fields["payload"], fields["id"], again)
                if failed is not None and int(str(failed).partition("|")[0]) >= self.max_deliveries:
                    self._dead_letter(topic, group, entry_id, fields, str(failed))
                    continue
                if not was_done and message.message_id not in handled_now:
                    handled_now.add(message.message_id)
                    try:
                        handler(message)
                    except Exception as exc:  # counted, then re-raised: it stays pending
                        count = int(str(failed or "0").partition("|")[0]) + 1
                        error = f"{type(exc).__name__}: {exc}"[:500]
                        self._client.hset(failures_key, message.message_id, f"{count}|{error}")
                        self._client.expire(failures_key, self.done_ttl_sec)
                        raise
                finished.append((entry_id, message.message_id))
        finally:
            if finished:
                outputs = (before_ack() if before_ack is not None else None) or []
                # the batch's outputs, then its acknowledgement, in one round trip: Redis runs
                # a pipeline's commands in order, so no input is acknowledged before them
                pipe = self._client.pipeline(transaction=False)
                for message in outputs:
                    pipe.xadd(
                        self.stream(message.topic),
                        {"id": message.message_id, "payload": message.encode()},
                        maxlen=self.maxlen, approximate=True,
                    )  # fmt: skip
                pipe.sadd(done_key, *(m for _, m in finished))
                pipe.expire(done_key, self.done_ttl_sec)
                pipe.xack(stream, group, *(e for e, _ in finished))
                pipe.execute()
        return len(finished)

    def _dead_letter(
        self, topic: str, group: str, entry_id: str, fields: dict[str, str], failed: str
    ) -> None:
        count, _, error = failed.partition("|")
        entry: dict[Any, Any] = {**fields, "group": group, "attempts": count, "error": error}
        self._client.xadd(
            self.dead_stream(topic),
            entry,
            maxlen=self.maxlen,
            approximate=True,
        )
        self._client.xack(self.stream(topic), group, entry_id)
        self._client.hdel(self._failures_key(topic, group), fields["id"])
        self.dead_lettered += 1

    def dead_letters(self, topic: str) -> list[tuple[Message, str]]:
        """Messages moved to the topic's dead-letter stream, each with its last error."""
        entries: Any = self._client.xrange(self.dead_stream(topic))
        return [
            (Message(topic, json.loads(f["payload"]), f["id"]), f.get("error", ""))
            for _, f in entries
        ]

    def pending_count(self, topic: str, group: str) -> int:
        stream = self.stream(topic)
        self._ensure_group(stream, group)
        info = self._client.xpending(stream, group)
        return int(info["pending"])

    def pending_idle_ms(self, topic: str, group: str) -> int:
        """How long the longest-waiting pending entry has been idle (0: none pending)."""
        stream = self.stream(topic)
        self._ensure_group(stream, group)
        entries: Any = self._client.xpending_range(stream, group, "-", "+", 1000)
        return max((int(e["time_since_delivered"]) for e in entries), default=0)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def delete_topic(self, topic: str) -> None:
        """Drop a topic's stream and its bookkeeping (tests and resets)."""
        keys = self._client.keys(f"{self.stream(topic)}*")
        if keys:
            self._client.delete(*keys)
