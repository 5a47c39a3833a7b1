"""The bus port on both backends: in-process and real Redis Streams."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tradeloop.adapters.redis.bus import RedisStreamsBus
from tradeloop.core.bus import Bus, InProcessBus, Message


@pytest.fixture(params=["inprocess", "redis"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    if request.param == "inprocess":
        yield InProcessBus()
        return
    url = request.getfixturevalue("redis_url")
    redis_bus = RedisStreamsBus(url, prefix=f"test-{uuid.uuid4().hex[:8]}", claim_idle_ms=0)
    yield redis_bus
    redis_bus.delete_topic("signals")
    redis_bus.close()


def test_consume_when_published_then_each_group_gets_every_message_once(bus: Bus) -> None:
    for n in range(5):
        bus.publish(Message("signals", {"n": n}))
    seen_a: list[int] = []
    seen_b: list[int] = []
    assert bus.consume("signals", "a", "c1", lambda m: seen_a.append(m.payload["n"])) == 5
    assert bus.consume("signals", "b", "c1", lambda m: seen_b.append(m.payload["n"])) == 5
    assert bus.consume("signals", "a", "c1", lambda m: seen_a.append(m.payload["n"])) == 0
    assert seen_a == seen_b == [0, 1, 2, 3, 4]


def test_consume_when_handler_fails_then_message_redelivered_until_handled(bus: Bus) -> None:
    bus.publish(Message("signals", {"n": 1}, message_id="m-1"))
    attempts: list[str] = []

    def flaky(message: Message) -> None:
        attempts.append(message.message_id)
        if len(attempts) == 1:
            raise RuntimeError("consumer crashed mid-message")

    with pytest.raises(RuntimeError):
        bus.consume("signals", "g", "c1", flaky)
    # Another consumer of the group recovers the pending message.
    assert bus.consume("signals", "g", "c2", flaky) == 1
    assert attempts == ["m-1", "m-1"]
    assert bus.consume("signals", "g", "c2", flaky) == 0


def test_consume_when_same_message_id_published_twice_then_handled_once(bus: Bus) -> None:
    bus.publish(Message("signals", {"n": 1}, message_id="dup"))
    bus.publish(Message("signals", {"n": 1}, message_id="dup"))
    handled: list[str] = []
    bus.consume("signals", "g", "c1", lambda m: handled.append(m.message_id))
    assert handled == ["dup"]


def test_message_when_payload_not_finite_then_refused() -> None:
    with pytest.raises(ValueError, match="not finite JSON"):
        Message("signals", {"p": float("nan")})


def test_redis_bus_when_a_handler_always_fails_then_dead_lettered_and_the_rest_flows(
    redis_url: str,
) -> None:
    bus = RedisStreamsBus(
        redis_url, prefix=f"test-{uuid.uuid4().hex[:8]}", claim_idle_ms=0, max_deliveries=3
    )
    try:
        bus.publish(Message("signals", {"n": 0}, message_id="poison"))
        for n in range(1, 4):
            bus.publish(Message("signals", {"n": n}, message_id=f"ok-{n}"))
        handled: list[str] = []

        def handler(message: Message) -> None:
            if message.message_id == "poison":
                raise ValueError("cannot parse this signal")
            handled.append(message.message_id)

        failures = 0
        for _ in range(10):  # a consumer loop that logs each failure and goes on
            try:
                bus.consume("signals", "g", "c1", handler)
            except ValueError:
                failures += 1
        assert failures == 3  # max_deliveries attempts, then no more
        assert handled == ["ok-1", "ok-2", "ok-3"]
        assert bus.dead_lettered == 1
        ((dead, error),) = bus.dead_letters("signals")
        assert (dead.message_id, dead.payload) == ("poison", {"n": 0})
        assert error == "ValueError: cannot parse this signal"
        assert bus.pending_count("signals", "g") == 0
    finally:
        bus.delete_topic("signals")
        bus.close()


def test_backlog_when_read_and_acknowledged_then_counts_what_is_left(bus: Bus) -> None:
    bus.publish_many([Message("signals", {"n": n}, f"b{n}") for n in range(7)])
    assert bus.backlog("signals", "g") == 7
    assert bus.consume("signals", "g", "c1", lambda m: None, max_messages=3) == 3
    assert bus.backlog("signals", "g") == 4


def test_consume_when_handler_fails_then_redelivery_is_flagged_and_outputs_precede_ack(
    bus: Bus,
) -> None:
    bus.publish_many([Message("signals", {"n": n}, f"r{n}") for n in range(3)])
    seen: list[tuple[str, bool]] = []
    flushed: list[int] = []

    def fail_on_second(message: Message) -> None:
        seen.append((message.message_id, message.redelivered))
        if message.message_id == "r1" and len(seen) == 2:
            raise RuntimeError("killed mid-batch")

    with pytest.raises(RuntimeError):
        bus.consume("signals", "g", "c1", fail_on_second,
                    before_ack=lambda: flushed.append(len(seen)))  # fmt: skip
    # the message handled before the failure had its outputs flushed, then its ack
    assert flushed == [2]
    assert bus.consume("signals", "g", "c1", fail_on_second) == 2
    # r2 was read with the batch, never acknowledged: flagged too (a stage looks it up and
    # finds nothing decided); only what no consumer has read comes unflagged
    assert seen[2:] == [("r1", True), ("r2", True)]
    bus.publish(Message("signals", {"n": 3}, "r3"))
    bus.consume("signals", "g", "c1", fail_on_second)
    assert seen[-1] == ("r3", False)
