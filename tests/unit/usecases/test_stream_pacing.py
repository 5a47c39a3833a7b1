"""Stream pacing: bins are released at ``speed`` times their own pace (measured from the
first bin), at once with ``max``; a stop ends the wait and the stream; speeds parse."""

from __future__ import annotations

import threading

import pytest

from tradeloop.core.errors import DataError
from tradeloop.usecases.mbo_stream import Pacer, parse_speed


class FakeWall:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.slept.append(round(seconds, 9))
        self.now += seconds
        return False


@pytest.mark.parametrize(("speed", "waits"), [(1.0, [0.1, 0.1, 0.3]), (10.0, [0.01, 0.01, 0.03])])
def test_pacer_when_speed_given_then_bins_released_at_their_pace(
    speed: float, waits: list[float]
) -> None:
    wall = FakeWall()
    pacer = Pacer(speed, threading.Event(), wall.clock, wall.sleep)
    ends = [0, 100_000_000, 200_000_000, 500_000_000]  # ns: the last after a quiet gap
    assert all(pacer.wait(end) for end in ends)
    assert wall.slept == waits


def test_pacer_when_engine_is_late_then_released_at_once() -> None:
    wall = FakeWall()
    pacer = Pacer(1.0, threading.Event(), wall.clock, wall.sleep)
    pacer.wait(0)
    wall.now += 5.0  # the engine took 5 s to reach the next bin
    assert pacer.wait(1_000_000_000)
    assert wall.slept == []


def test_pacer_when_max_then_never_waits_and_stop_ends_it() -> None:
    stop = threading.Event()
    wall = FakeWall()
    pacer = Pacer(None, stop, wall.clock, wall.sleep)
    assert pacer.wait(0)
    assert pacer.wait(10**12)
    stop.set()
    assert not pacer.wait(2 * 10**12)
    assert wall.slept == []


def test_pacer_when_stopped_while_waiting_then_ends() -> None:
    stop = threading.Event()
    pacer = Pacer(1.0, stop, FakeWall().clock, lambda seconds: True)  # stopped meanwhile
    assert pacer.wait(0)
    assert not pacer.wait(10**9)


@pytest.mark.parametrize(
    ("text", "speed"), [("1", 1.0), ("10", 10.0), ("2.5x", 2.5), ("MAX", None)]
)
def test_speed_when_parsed_then_times_real_time_or_max(text: str, speed: float | None) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0", "-1", "fast", "", "1e9"])
def test_speed_when_not_a_speed_then_error_says_the_fix(text: str) -> None:
    with pytest.raises(DataError, match="Fix: 1, 10"):
        parse_speed(text)
