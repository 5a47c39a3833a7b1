"""Crash tests with a real ``kill -9``: nothing half-written, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from tradeloop.adapters.redis.bus import RedisStreamsBus
from tradeloop.core.bus import Message
from tradeloop.store.sql.bar_store import SqlBarStore
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.testing.waiting import wait_until

ROWS = 200_000


def _spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(process: subprocess.Popen[str], expected: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if expected in line:
            return
        if process.poll() is not None:
            raise AssertionError(
                f"child exited early: {process.stderr.read() if process.stderr else ''}"
            )
    raise AssertionError(f"child never printed {expected!r}")


def _wait_idle(bus: RedisStreamsBus, topic: str, group: str, idle_ms: int) -> None:
    """Until the pending entry has been idle ``idle_ms`` by Redis's own clock."""
    wait_until(lambda: bus.pending_idle_ms(topic, group) >= idle_ms, "the entry idle", 30)


def test_bar_upsert_when_killed_mid_transaction_then_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    setup = open_engine(f"sqlite:///{db}")
    upgrade(setup)
    setup.dispose()
    child = _spawn(
        f"""
        import sys
        from tradeloop.store.sql.bar_store import SqlBarStore
        from tradeloop.store.sql.engine import open_engine
        from tradeloop.testing import stub_bars
        bars = stub_bars("CRASH", {ROWS}, bar_interval_sec=60)
        print("writing", flush=True)
        SqlBarStore(open_engine("sqlite:///{db}")).upsert_bars(bars)
        print("done", flush=True)
        """
    )
    _wait_for_line(child, "writing")
    # Inside the transaction: its pages spill into the WAL long before it commits.
    wal = db.with_name(db.name + "-wal")
    wait_until(
        lambda: wal.exists() and wal.stat().st_size > 4 << 20,
        "4 MiB in the WAL",
        alive=lambda: child.poll() is None,
    )
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert "done" not in out  # the kill landed before the commit
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    stored = SqlBarStore(engine).load_bars("CRASH", 60).height
    engine.dispose()
    assert stored == 0  # nothing of the interrupted transaction is visible


def test_bus_when_consumer_killed_mid_message_then_other_consumer_recovers_it(
    redis_url: str,
) -> None:
    prefix = f"crash-{uuid.uuid4().hex[:8]}"
    bus = RedisStreamsBus(redis_url, prefix=prefix, claim_idle_ms=200)
    bus.publish(Message("orders", {"n": 1}, message_id="only-once"))
    child = _spawn(
        f"""
        import time
        from tradeloop.adapters.redis.bus import RedisStreamsBus
        bus = RedisStreamsBus({redis_url!r}, prefix={prefix!r})
        def hang(message):
            print("handling", message.message_id, flush=True)
            time.sleep(600)
        bus.consume("orders", "executors", "doomed", hang)
        """
    )
    try:
        _wait_for_line(child, "handling only-once")
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=30)
        assert bus.pending_count("orders", "executors") == 1
        _wait_idle(bus, "orders", "executors", 200)
        handled: list[str] = []
        assert (
            bus.consume("orders", "executors", "survivor", lambda m: handled.append(m.message_id))
            == 1
        )
        assert handled == ["only-once"]
        assert bus.pending_count("orders", "executors") == 0
        assert (
            bus.consume("orders", "executors", "survivor", lambda m: handled.append(m.message_id))
            == 0
        )
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=30)
        bus.delete_topic("orders")
        bus.close()
