"""The scalper's stream topology under load: market data -> signal engine -> ai_scorer ->
risk -> executor, at a fixed rate of candidate signals, three ways on the same tape:

- redis: the four stage services as separate processes on Redis Streams (this machine's
  Redis), the benchmark publishing the tape as the collector does;
- in-process: the same stages in one process on the in-process bus (`tradeloop scalper run`);
- direct: the same stages called one after the other, no bus at all: the floor.

Latency is from the market-data message's publication (its ``wall_ns``) to the executor's
decision: an order sent to the paper venue, or a drop recorded (most signals are dropped
while an entry rests: one position at a time). p50 / p99 over every decision; CPU per
service from /proc (seconds of CPU per second of wall time). Settings are the shipped
defaults except the tape (1 ms steps, so that a 10k/s rate is realistic event time), the
signal engine's cooldown (0) and minimum imbalance (0.05: most book updates are signals)
and no warm-up.

    .venv/bin/python benchmarks/bench_scalper_pipeline.py --rate 10000 --seconds 10 [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
START_NS = 1_767_571_200_000_000_000
SERVICES = ("signal_engine", "ai_scorer", "risk", "executor")
CONFIG = """
scalper:
  streams: {{prefix: {prefix}, block_ms: 2, batch: 200}}
  synthetic: {{interval_ms: 1}}
  signal: {{min_imbalance: 0.05, cooldown_ms: 0}}
  executor:
    warmup: {{enabled: false}}
    max_signal_age_ms: 600000
    exits: {{entry_ttl_ms: 1}}
risk: {{loss_streak_max: null, daily_loss_limit: null}}
"""


def _tape(steps: int) -> list[dict[str, Any]]:
    from tradeloop.adapters.synthetic.ticks import SyntheticTape, TickParams

    params = TickParams(11, START_NS, 1, 60_000.0, 0.1, 10, 2.0)
    messages = SyntheticTape.starting(params, ("BTCUSDT",), "md").next_batch(steps, 0)
    # books only: each one is a candidate for the signal engine (trades would only add load)
    return [{"id": m.message_id, "payload": m.payload} for m in messages
            if m.payload["kind"] == "book"]  # fmt: skip


def _home(prefix: str) -> tuple[Path, dict[str, str]]:
    home = Path(tempfile.mkdtemp(prefix="bench-scalper-"))
    (home / "tradeloop.yaml").write_text(CONFIG.format(prefix=prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))}
    env.update(TRADELOOP_HOME=str(home / "var"), TRADELOOP_CONFIG=str(home / "tradeloop.yaml"),
               EXCHANGE_MODE="paper", TRADELOOP_CONSUMER="bench")  # fmt: skip
    return home, env


def _percentiles(latencies_ns: list[int]) -> dict[str, float | int | None]:
    if not latencies_ns:
        return {"decisions": 0, "p50_ms": None, "p99_ms": None}
    ms = np.asarray(latencies_ns, dtype=float) / 1e6
    return {"decisions": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _paced(tape: list[dict[str, Any]], rate: float, publish: Any, batch: int = 20) -> float:
    """Publish ``tape`` at ``rate`` messages/s in small batches, each stamped with the wall
    time it leaves; the wall time it took."""
    started = time.perf_counter()
    for i in range(0, len(tape), batch):
        due = started + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(0.001, due - now))
        stamp = time.time_ns()
        publish([(m["id"], {**m["payload"], "wall_ns": stamp}) for m in tape[i : i + batch]])
    return time.perf_counter() - started


def run_redis(
    tape: list[dict[str, Any]], rate: float, redis_url: str, db_url: str | None = None
) -> dict[str, Any]:
    import redis

    from tradeloop.adapters.redis.bus import RedisStreamsBus
    from tradeloop.core.bus import Message

    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    _, env = _home(prefix)
    env["TRADELOOP_REDIS_URL"] = redis_url
    if db_url:  # PostgreSQL: the decisions and the journal of two services, written at once
        env["TRADELOOP_DB_URL"] = db_url
    subprocess.run([sys.executable, "-m", "tradeloop.cli", "db", "upgrade"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    profiled = os.environ.get("BENCH_PROFILE_SERVICE")  # e.g. risk: cProfile it

    def argv(name: str) -> list[str]:
        wrap = ["-m", "cProfile", "-o", f"/tmp/{name}.prof"] if name == profiled else []
        return [sys.executable, *wrap, "-m", f"tradeloop.services.{name}"]

    children = {
        name: subprocess.Popen(argv(name), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        for name in SERVICES
    }  # fmt: skip
    bus = RedisStreamsBus(redis_url, prefix=prefix)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        _wait_consuming(client, prefix)
        cpu0 = {n: _cpu_seconds(c.pid) for n, c in children.items()}
        wall0 = time.perf_counter()
        took = _paced(tape, rate, lambda items: bus.publish_many(
            [Message("md", payload, mid) for mid, payload in items]))  # fmt: skip
        deadline = time.monotonic() + 300
        groups = {"md": "signal_engine", "candidates": "ai_scorer", "scored": "risk",
                  "sig:approved": "executor"}  # fmt: skip
        while any(bus.backlog(t, g) for t, g in groups.items()):
            if time.monotonic() > deadline:
                raise RuntimeError("the services did not drain in 300 s")
            time.sleep(0.05)
        wall = time.perf_counter() - wall0
        cpu = {n: (_cpu_seconds(c.pid) - cpu0[n]) / wall for n, c in children.items()}
        latencies = _decision_latencies(client, prefix)
    finally:
        for child in children.values():
            child.terminate()
        for child in children.values():
            child.wait(timeout=60)
        for key in client.keys(f"{prefix}:*"):
            client.delete(key)
    return {"publish_s": took, "drain_s": wall, "cpu_per_service": cpu,
            **_percentiles(latencies)}  # fmt: skip


def _wait_consuming(client: Any, prefix: str) -> None:
    # each service creates its consumer group when it first reads: all four are up then
    deadline = time.monotonic() + 120
    wanted = {"md": "signal_engine", "candidates": "ai_scorer", "scored": "risk",
              "sig:approved": "executor"}  # fmt: skip
    while time.monotonic() < deadline:
        ready = 0
        for topic, group in wanted.items():
            with contextlib.suppress(Exception):  # the stream does not exist yet
                ready += any(g["name"] == group for g in client.xinfo_groups(f"{prefix}:{topic}"))
        if ready == len(wanted):
            return
        time.sleep(0.05)
    raise RuntimeError("the services did not start in 120 s")


def _decision_latencies(client: Any, prefix: str) -> list[int]:
    out = []
    for topic in ("orders", "drops"):
        for _, fields in client.xrange(f"{prefix}:{topic}"):
            payload = json.loads(fields["payload"])
            if topic == "drops" and payload.get("stage") != "executor":
                continue
            if payload.get("latency_ns") is not None:
                out.append(int(payload["latency_ns"]))
    return out


def _stages(env: dict[str, str]) -> tuple[Any, list[Any], Any]:
    os.environ.update(env)
    from tradeloop.bootstrap import scalper
    from tradeloop.core.bus import InProcessBus
    from tradeloop.store.sql.migrate import upgrade

    app = scalper.scalper_app(None)
    upgrade(app.engine)
    bus = InProcessBus()
    stages = [scalper.signal_engine(app), scalper.ai_scorer(app), scalper.risk_stage(app),
              scalper.executor_stage(app, bus)]  # fmt: skip
    return app, stages, bus


def run_in_process(tape: list[dict[str, Any]], rate: float) -> dict[str, Any]:
    from tradeloop.core.bus import Message
    from tradeloop.usecases.stream_stage import DROPS, ORDERS, StageRunner

    _, env = _home("inproc")
    _, stages, bus = _stages(env)
    runners = [StageRunner(bus, s, "local", batch=200) for s in stages]

    def publish(items: list[tuple[str, dict[str, Any]]]) -> None:
        bus.publish_many([Message("md", payload, mid) for mid, payload in items])
        for runner in runners:
            while runner.run_once():
                pass

    cpu0 = time.process_time()
    took = _paced(tape, rate, publish)
    cpu = (time.process_time() - cpu0) / took
    latencies: list[int] = []
    for topic in (ORDERS, DROPS):

        def collect(m: Message) -> None:
            if (
                m.payload.get("latency_ns") is not None
                and m.payload.get("stage", "executor") == "executor"
            ):
                latencies.append(int(m.payload["latency_ns"]))

        while bus.consume(topic, "bench", "b", collect, max_messages=100_000):
            pass
    return {"publish_s": took, "cpu_one_process": cpu, **_percentiles(latencies)}


def run_direct(tape: list[dict[str, Any]], batch: int = 20) -> dict[str, Any]:
    """The floor: each batch of the tape through the four stages by plain calls (each
    stage's effects stored once per batch, as the runners do), as fast as it goes; a
    decision's latency is its batch's time through the stages."""
    from tradeloop.core.bus import Message

    _, env = _home("direct")
    _, stages, _ = _stages(env)
    latencies: list[int] = []
    started = time.perf_counter()
    for i in range(0, len(tape), batch):
        t0 = time.perf_counter_ns()
        messages = [Message("md", m["payload"], m["id"]) for m in tape[i : i + batch]]
        for stage in stages:
            outputs = []
            for message in messages:
                outputs += stage.handle(message)
            outputs += stage.commit()
            messages = [m for m in outputs if m.topic in ("candidates", "scored", "sig:approved")]
        decided = [m for m in outputs if m.topic in ("orders", "drops")]
        latencies += [time.perf_counter_ns() - t0] * len(decided)
    took = time.perf_counter() - started
    return {"messages_per_s": len(tape) / took, **_percentiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10_000, help="signals per second")
    parser.add_argument("--seconds", type=float, default=10)
    default_redis = os.environ.get("TRADELOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    parser.add_argument("--redis-url", default=default_redis)
    parser.add_argument("--db-url", default=None, help="PostgreSQL for the services (default "
                        "SQLite in the run's folder)")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    books = int(args.rate * args.seconds)
    tape = _tape(int(books * 1.05) + 10)[:books]
    result = {
        "rate": args.rate, "messages": len(tape),
        "direct": run_direct(tape),
        "in_process": run_in_process(tape, args.rate),
        "redis": run_redis(tape, args.rate, args.redis_url, args.db_url),
    }  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(tape):,} book updates at {args.rate:,.0f}/s (2 cores)")
    for name in ("direct", "in_process", "redis"):
        r = result[name]
        pace = (
            f"publish {r['publish_s']:.1f} s"
            if "publish_s" in r
            else f"{r['messages_per_s']:,.0f} msg/s"
        )
        print(f"  {name:10s} decisions {r['decisions']:>7,}  p50 {r['p50_ms']:.3f} ms  "
              f"p99 {r['p99_ms']:.3f} ms  {pace}")  # fmt: skip
    print(
        "  cpu per service (redis):",
        {k: round(v, 2) for k, v in result["redis"]["cpu_per_service"].items()},
    )


if __name__ == "__main__":
    main()
