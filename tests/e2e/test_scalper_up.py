"""`tradeloop up --profile paper`: the five scalper services supervised on Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import redis

from tradeloop.testing.waiting import wait_until

SERVICES = ("collector", "signal_engine", "ai_scorer", "risk", "executor")


def _env(home: Path, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))}
    env["TRADELOOP_HOME"] = str(home)
    if redis_url:
        env["TRADELOOP_REDIS_URL"] = redis_url
    return env


def test_up_profile_when_no_redis_then_exit_2_with_the_fix(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", "up", "--profile", "paper"],
        env=_env(tmp_path / "var", None), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TRADELOOP_REDIS_URL" in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", "up", "--profile", "testnet"],
        env=_env(tmp_path / "var", None), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "choose paper or real" in bad.stderr


def test_up_profile_paper_when_running_then_five_services_trade_on_paper(
    tmp_path: Path, redis_url: str
) -> None:
    prefix = f"up-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "tradeloop.yaml"
    config.write_text(
        f"scalper:\n  streams: {{prefix: {prefix}, block_ms: 20}}\n"
        "  executor:\n    warmup: {seconds: 0.5}\n"
    )
    home = tmp_path / "var"
    child = subprocess.Popen(
        [sys.executable, "-m", "tradeloop.cli", "up", "--profile", "paper", "--config",
         str(config)], env=_env(home, redis_url), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for name in SERVICES:
            log = home / "logs" / f"{name}.log"
            line = "publishing" if name == "collector" else "consuming"
            wait_until(lambda log=log, line=line: log.exists() and line in log.read_text(),
                       f"{name} up", 120, alive=lambda: child.poll() is None)  # fmt: skip
        # the tape flows through all five to the paper venue
        wait_until(lambda: client.xlen(f"{prefix}:orders") + client.xlen(f"{prefix}:drops") > 0,
                   "a decision of the executor", 120)  # fmt: skip
        stack = json.loads((home / "run" / "stack.json").read_text())
        assert set(stack["components"]) == set(SERVICES)
        assert all(c["status"] == "running" for c in stack["components"].values())
        executor = (home / "logs" / "executor.log").read_text()
        assert "error" not in executor.lower()
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
        for key in client.keys(f"{prefix}:*"):
            client.delete(key)
    assert child.returncode == 0, err
    assert "stack stopped" in out


def test_service_when_redis_missing_or_unreachable_then_2_or_3_and_nothing_written(
    tmp_path: Path,
) -> None:
    home = tmp_path / "var"
    argv = [sys.executable, "-m", "tradeloop.services.risk"]
    missing = subprocess.run(argv, env=_env(home, None), capture_output=True, text=True,
                             timeout=120, check=False)  # fmt: skip
    assert missing.returncode == 2
    assert "TRADELOOP_REDIS_URL" in missing.stderr
    assert not home.exists()  # refused before the database was opened
    down = subprocess.run(argv, env=_env(home, "redis://127.0.0.1:1/0"), capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert down.returncode == 3  # transient: the supervisor starts it again
    assert "cannot reach Redis at 127.0.0.1:1" in down.stderr
    assert "Traceback" not in down.stderr
