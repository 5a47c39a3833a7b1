"""What every scalper service's ``main`` does: parse, build its stage, run it on Redis.

Exit codes: 0 stopped on SIGTERM/SIGINT (or ``--max-messages`` reached), 2 bad config or
input (the message says what to fix), 3 a service it needs is unreachable (retry later).
Every ~10 s a service logs one progress line and rewrites
``var/run/scalper/<service>.json`` with its counters.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeloop.core.errors import OperatorError, RetryableError, StorageError

EXIT_OK, EXIT_OPERATOR, EXIT_RETRY = 0, 2, 3
log = logging.getLogger("tradeloop.services")

DESCRIPTIONS = {
    "collector": "publish market data (book updates and trades) onto the md stream",
    "signal_engine": "turn market data into candidates (book imbalance + trade flow)",
    "ai_scorer": "score candidates (ONNX model or the logistic baseline) against tau_entry",
    "risk": "drop what the kill switch, HALT, daily cap, loss streak or near-liquidation "
    "guard forbid; pass the rest to sig:approved; check data health",
    "executor": "warm-up, backpressure, sizing, liquidity gate, risk gate, then one order "
    "per approved signal (EXCHANGE_MODE=paper: the paper simulator; real: the venue)",
}


def parser_for(service: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m tradeloop.services.{service}",
        description=DESCRIPTIONS[service] + ". Needs TRADELOOP_REDIS_URL.",
        epilog=(
            "examples:\n"
            "  TRADELOOP_REDIS_URL=redis://127.0.0.1:6379/0 \\\n"
            f"    python -m tradeloop.services.{service}\n"
            "  tradeloop up --profile paper      (all five, supervised)\n"
            "exit codes: 0 stopped, 2 bad config, 3 Redis or the venue unreachable"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="config file (default ./tradeloop.yaml)")
    if service == "collector":
        parser.add_argument(
            "--rate", type=float, default=None,
            help="tape steps per second per symbol (default: the tape's own interval; 0: max)",
        )  # fmt: skip
        parser.add_argument("--max-messages", type=int, default=None, help="stop after these")
        parser.add_argument(
            "--start-ns", type=int, default=None,
            help="event time of the synthetic tape's first step (default: now)",
        )  # fmt: skip
        parser.add_argument(
            "--end-ns", type=int, default=None,
            help="stop when the synthetic tape reaches this event time (restarts included)",
        )  # fmt: skip
    return parser


def main(service: str, argv: list[str] | None = None) -> int:
    args = parser_for(service).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {service} %(levelname)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a migration's steps: noise here
    stop = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        _serve(service, args, lambda: stop["requested"])
    except StorageError as exc:  # Redis or the database unreachable: the supervisor retries
        print(f"error (transient, retry later): {exc}", file=sys.stderr)
        return EXIT_RETRY
    except OperatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_OPERATOR
    except RetryableError as exc:
        print(f"error (transient, retry later): {exc}", file=sys.stderr)
        return EXIT_RETRY
    return EXIT_OK


def _serve(service: str, args: argparse.Namespace, should_stop: Callable[[], bool]) -> None:
    from tradeloop.bootstrap import scalper
    from tradeloop.settings import load_settings

    scalper.require_redis(load_settings())  # before the database is opened or migrated
    app = scalper.scalper_app(args.config)
    bus = scalper.stream_bus(app)
    status = _Status(scalper.scalper_dir(app) / f"{service}.json", service)
    if service == "collector":
        _collect(app, bus, args, should_stop, status)
        return
    consumer = scalper.consumer_name(app, service)
    stage: Any
    if service == "executor":
        stage = scalper.executor_stage(app, bus)
    else:
        stage = {
            "signal_engine": scalper.signal_engine,
            "ai_scorer": scalper.ai_scorer,
            "risk": scalper.risk_stage,
        }[service](app)
    from tradeloop.usecases.stream_stage import StageRunner

    runner = StageRunner(
        bus, stage, consumer, batch=app.config.scalper.streams.batch,
        group_of=scalper.group_of(service, consumer),
    )  # fmt: skip
    idle = scalper.idle_work(app, service, stage, bus)
    log.info("%s consuming %s as %s", service, ", ".join(stage.topics()), consumer)

    def counters() -> dict[str, Any]:
        values = scalper.stage_counters(stage, runner)
        scalper.write_metrics(app, service, stage, values)
        return values

    def on_idle() -> None:
        idle()
        status.maybe_write(counters)

    runner.run(should_stop, on_idle=on_idle)
    status.write(counters())


def _collect(
    app: Any, bus: Any, args: argparse.Namespace, should_stop: Callable[[], bool],
    status: _Status,
) -> None:  # fmt: skip
    from tradeloop.bootstrap import scalper
    from tradeloop.usecases.scalper_collector import Pacing, run_collector
    from tradeloop.usecases.stream_stage import MARKET

    source, cursor = scalper.market_source(app, args.start_ns, MARKET)
    interval = app.config.scalper.synthetic.interval_ms
    live = app.config.scalper.source != "synthetic"  # a live stream paces itself
    rate = None if live else (args.rate if args.rate is not None else 1000 / interval)
    per_batch = 1 if rate and rate < 50 else 10
    log.info("collector publishing %s from %s", app.config.scalper.source, source.cursor)
    end_ns = args.end_ns

    def done() -> bool:
        reached = getattr(source, "reached", None)
        return should_stop() or (end_ns is not None and reached is not None and reached(end_ns))

    pacing = Pacing(per_batch, rate or None, args.max_messages)
    stats = run_collector(
        bus, source, cursor, should_stop=done, pacing=pacing,
        on_batch=lambda s: status.maybe_write(lambda: {"published": s.published,
                                                        "retries": s.retries}),
    )  # fmt: skip
    status.write({"published": stats.published, "retries": stats.retries})
    close = getattr(source, "close", None)
    if close is not None:
        close()


class _Status:
    """A service's counters: a log line and a JSON file every ~10 s."""

    def __init__(self, path: Path, service: str, every_s: float = 10.0) -> None:
        self.path, self.service, self.every_s = path, service, every_s
        self._last = time.monotonic()

    def maybe_write(self, counters: Callable[[], dict[str, Any]]) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self.write(counters())

    def write(self, counters: dict[str, Any]) -> None:
        from tradeloop.core.atomic_file import write_atomic

        self._last = time.monotonic()
        body = {"service": self.service, "updated_ns": time.time_ns(), **counters}
        write_atomic(self.path, json.dumps(body, sort_keys=True, default=str))
        log.info("%s", " ".join(f"{k}={v}" for k, v in counters.items() if not isinstance(v, dict)))
