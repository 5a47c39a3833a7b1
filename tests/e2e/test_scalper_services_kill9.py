"""The five scalper services on real Redis, each ``kill -9``-ed at random mid-stream, 30
times, and restarted, with a canary routing half the signals to the venue and half to the
paper simulator: every approved signal is handled exactly once (one order in one lane or
one recorded drop, never both, never neither) and the venue never sees an order twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from tradeloop.adapters.redis.bus import RedisStreamsBus
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.tables import orders as orders_table
from tradeloop.store.sql.tables import stream_decision
from tradeloop.testing.fake_bybit import KEY, SECRET, FakeBybit
from tradeloop.testing.waiting import wait_until
from tradeloop.usecases.scalper_executor import client_order_id
from tradeloop.usecases.stream_stage import APPROVED, MARKET, SCORED

SERVICES = ("collector", "signal_engine", "ai_scorer", "risk", "executor")
START_NS = 1_767_571_200_000_000_000  # 2026-01-05 00:00 UTC: the tape's pinned event time
STEPS = 5_000  # tape steps of 100 ms, a book and most often a trade each
STARTED = {"collector": "collector publishing"}  # the log line of a service that is up


def _config(path: Path, prefix: str) -> None:
    path.write_text(
        f"""
scalper:
  streams: {{prefix: {prefix}, block_ms: 20, claim_idle_ms: 1000}}
  signal: {{min_imbalance: 0.3, cooldown_ms: 0}}
  executor:
    warmup: {{enabled: true, seconds: 1}}
    max_signal_age_ms: 600000
    exits: {{entry_ttl_ms: 100}}
  data_health: {{interval_s: 5}}
risk:
  loss_streak_max: null
  daily_loss_limit: null
rollout: {{mode: canary, canary_fraction: 0.5}}
rollout_guard: {{min_sample: 100000}}
"""
    )


class Stack:
    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env, self.home = env, home
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: list[str] = []
        self.starts: dict[str, int] = {}

    def is_up(self, name: str) -> bool:
        """The current incarnation of ``name`` logged that it is consuming (or publishing)."""
        path = self.home / f"{name}.log"
        line = STARTED.get(name, " consuming ")
        seen = path.read_text().count(line) if path.exists() else 0
        return seen >= self.starts[name]

    def start(self, name: str) -> None:
        argv = [sys.executable, "-m", f"tradeloop.services.{name}"]
        if name == "collector":
            end = START_NS + STEPS * 100_000_000
            argv += ["--rate", "80", "--start-ns", str(START_NS), "--end-ns", str(end)]
        self.starts[name] = self.starts.get(name, 0) + 1
        with (self.home / f"{name}.log").open("ab") as log:  # the child keeps its own handle
            self.processes[name] = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log)

    def kill9(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            self.kills.append(name)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def fake_venue() -> Iterator[FakeBybit]:
    with FakeBybit(equity="10000") as fake:
        yield fake


def _stream_ids(client: redis.Redis, stream: str) -> list[str]:
    return [fields["id"] for _, fields in client.xrange(stream)]  # type: ignore[union-attr]


def test_services_when_killed_30_times_then_each_approved_signal_handled_once(
    tmp_path: Path, redis_url: str, fake_venue: FakeBybit
) -> None:
    prefix = f"kill9-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "var"
    config = tmp_path / "tradeloop.yaml"
    _config(config, prefix)
    db_url = f"sqlite:///{home / 'tradeloop.db'}"
    home.mkdir()
    engine = open_engine(db_url)
    upgrade(engine)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))},
        "TRADELOOP_HOME": str(home), "TRADELOOP_CONFIG": str(config),
        "TRADELOOP_REDIS_URL": redis_url, "TRADELOOP_DB_URL": db_url,
        "EXCHANGE_MODE": "real", "EXCHANGE_VENUE": "bybit_v5",
        "EXCHANGE_BASE_URL": fake_venue.url, "BYBIT_API_KEY": KEY, "BYBIT_API_SECRET": SECRET,
        "TRADELOOP_CONSUMER": "kill9",
    }  # fmt: skip
    stack = Stack(env, tmp_path)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = RedisStreamsBus(redis_url, prefix=prefix)
    rng = random.Random(20261206)
    try:
        for name in SERVICES:
            stack.start(name)
        md = f"{prefix}:{MARKET}"
        for _ in range(30):
            victim = rng.choice(SERVICES[1:] if _collector_done(stack) else SERVICES)
            wait_until(lambda v=victim: stack.is_up(v), f"{victim} up", 120)
            # then a random stretch of the stream later, mid-flow: never on a timer
            target = client.xlen(md) + rng.randint(10, 60)
            wait_until(lambda t=target: client.xlen(md) >= t or _collector_done(stack),
                       "market data flowing", 120)  # fmt: skip
            stack.kill9(victim)
            stack.start(victim)
        wait_until(lambda: _collector_done(stack), "the collector's last message", 300)
        groups = {MARKET: "signal_engine", "candidates": "ai_scorer", SCORED: "risk",
                  APPROVED: "executor"}  # fmt: skip
        wait_until(
            lambda: all(bus.backlog(t, g) == 0 for t, g in groups.items())
            and bus.backlog(MARKET, "executor") == 0,
            "every group drained", 300,
        )  # fmt: skip
    finally:
        stack.stop()
    assert len(stack.kills) == 30
    assert set(stack.kills) == set(SERVICES)
    _check_exactly_once(client, prefix, engine, fake_venue)


def _collector_done(stack: Stack) -> bool:
    process = stack.processes["collector"]
    return process.poll() == 0


def _check_exactly_once(client: redis.Redis, prefix: str, engine: Any, fake: FakeBybit) -> None:
    approved = set(_stream_ids(client, f"{prefix}:{APPROVED}"))
    scored = [
        fields
        for _, fields in client.xrange(f"{prefix}:{SCORED}")  # type: ignore[union-attr]
    ]
    assert approved, "no signal was approved: the test proves nothing"
    with engine.connect() as connection:
        decisions = {
            (row.stage, row.message_id): row.outcome
            for row in connection.execute(select(stream_decision))
        }
        lanes = {
            row.client_order_id: row.run_id for row in connection.execute(select(orders_table))
        }
    journal = set(lanes)
    signal_of = {
        fields["id"]: client_order_id(json.loads(fields["payload"])["signal_id"])
        for _, fields in client.xrange(f"{prefix}:{APPROVED}")  # type: ignore[union-attr]
    }
    # risk: every approved candidate decided once (the decision's key is the scored id)
    risk_keys = {k for (stage, k) in decisions if stage == "risk"}
    approved_scored = {f["id"] for f in scored if json.loads(f["payload"])["approved"]}
    assert risk_keys == approved_scored
    # executor: each approved signal is one order xor one recorded drop
    dropped = {k for (stage, k), _ in decisions.items() if stage == "executor"}
    entries = {cid for cid in journal if cid.startswith("sc")}
    ordered = {mid for mid, cid in signal_of.items() if cid in entries}
    assert not (ordered & dropped), "a signal both ordered and dropped"
    assert ordered | dropped == approved, "a signal neither ordered nor dropped"
    # the venue: every entry once, none it should not have, never sent twice
    at_venue = {link for link in fake.orders if link.startswith("sc")}
    assert at_venue == {cid for cid in entries if lanes[cid] == "scalper-real"}
    assert {lanes[cid] for cid in entries} == {"scalper-real", "scalper-paper"}  # both lanes
    assert fake.creates == len(fake.orders), "an order was sent to the venue twice"
