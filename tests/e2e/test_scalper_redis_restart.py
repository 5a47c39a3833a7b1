"""Redis itself killed mid-run and started again: the scalper services reconnect and resume,
and nothing is lost (every tape step is on the stream, every approved signal handled once).

The test runs its own redis-server (append-only file, fsync on every write) on a free port,
so that killing it disturbs no other test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from tradeloop.core.ids import natural_key_id
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.tables import orders as orders_table
from tradeloop.store.sql.tables import stream_decision
from tradeloop.testing.waiting import wait_until
from tradeloop.usecases.scalper_executor import client_order_id
from tradeloop.usecases.stream_stage import APPROVED, MARKET

START_NS = 1_767_571_200_000_000_000
STEPS = 1_200
SERVICES = ("signal_engine", "ai_scorer", "risk", "executor", "collector")


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), "redis-server answering", 30)

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None and os.environ.get("CI") != "true":
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill9()


def test_services_when_redis_killed_and_restarted_then_resume_without_loss(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    home = tmp_path / "var"
    home.mkdir()
    db_url = f"sqlite:///{home / 'tradeloop.db'}"
    engine = open_engine(db_url)
    upgrade(engine)
    config = tmp_path / "tradeloop.yaml"
    config.write_text(
        "scalper:\n  streams: {prefix: rr, block_ms: 20}\n  signal: {cooldown_ms: 0}\n"
        "  executor: {max_signal_age_ms: 600000}\nrisk: {loss_streak_max: null, "
        "daily_loss_limit: null}\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))},
        "TRADELOOP_HOME": str(home), "TRADELOOP_CONFIG": str(config),
        "TRADELOOP_REDIS_URL": private_redis.url, "TRADELOOP_DB_URL": db_url,
        "EXCHANGE_MODE": "paper", "TRADELOOP_CONSUMER": "rr",
    }  # fmt: skip
    end = START_NS + STEPS * 100_000_000
    processes = {}
    for name in SERVICES:
        argv = [sys.executable, "-m", f"tradeloop.services.{name}"]
        if name == "collector":
            argv += ["--rate", "60", "--start-ns", str(START_NS), "--end-ns", str(end)]
        with (tmp_path / f"{name}.log").open("ab") as log:
            processes[name] = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    try:
        wait_until(lambda: _length(client, f"rr:{MARKET}") >= 400, "the tape flowing", 120)
        private_redis.kill9()
        # the services notice (their retries), while Redis is away
        wait_until(lambda: "retrying" in (tmp_path / "collector.log").read_text(),
                   "the collector retrying", 60)  # fmt: skip
        private_redis.start()
        wait_until(lambda: processes["collector"].poll() is not None, "the tape's end", 300)
        assert processes["collector"].returncode == 0
        wait_until(lambda: _drained(client), "every group drained", 300)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)
    books = {
        fields["id"] for _, fields in client.xrange(f"rr:{MARKET}")  # type: ignore[union-attr]
        if json.loads(fields["payload"])["kind"] == "book"
    }  # fmt: skip
    expected = {natural_key_id(("md", "BTCUSDT", n, "book"), 24) for n in range(STEPS)}
    assert books == expected, f"{len(expected - books)} tape steps lost"
    approved = {
        fields["id"]: client_order_id(json.loads(fields["payload"])["signal_id"])
        for _, fields in client.xrange(f"rr:{APPROVED}")  # type: ignore[union-attr]
    }
    assert approved
    with engine.connect() as connection:
        dropped = {
            row.message_id
            for row in connection.execute(select(stream_decision))
            if row.stage == "executor"
        }
        journal = {row.client_order_id for row in connection.execute(select(orders_table))}
    ordered = {m for m, cid in approved.items() if cid in journal}
    assert not ordered & dropped
    assert ordered | dropped == set(approved)


def _length(client: redis.Redis, stream: str) -> int:
    try:
        return int(client.xlen(stream))  # type: ignore[arg-type]
    except redis.ConnectionError:
        return 0


def _drained(client: redis.Redis) -> bool:
    groups = {MARKET: "signal_engine", "candidates": "ai_scorer", "scored": "risk",
              APPROVED: "executor"}  # fmt: skip
    for topic, group in groups.items():
        for info in client.xinfo_groups(f"rr:{topic}"):  # type: ignore[union-attr]
            if info["name"] == group and (info["pending"] or info.get("lag")):
                return False
    return True
