"""`tradeloop scalper run`: every stage in one process on the seeded tape, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

START = "2026-01-05T00:00:00Z"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))
    }
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", "scalper", *args],
        cwd=root, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _summary(root: Path, *extra: str) -> dict[str, Any]:
    result = _run(root, "run", "--max-messages", "6000", "--start", START, "--json", *extra)
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_scalper_run_when_same_tape_then_same_decisions_and_a_clean_archive(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    one, two = _summary(first), _summary(second)
    for summary in (one, two):
        summary.pop("latency_ms")
        summary["health"].pop("checked_ns")
    assert one == two  # the tape is seeded, its event time pinned: the same run twice
    stages = one["stages"]
    assert stages["signal_engine"]["handled"] == one["market_messages"] >= 6000
    assert stages["ai_scorer"]["scored"] == stages["signal_engine"]["candidates"] > 0
    assert one["orders"] == stages["executor"]["sent"] > 0
    # every approved signal reached the executor and was ordered or dropped there
    executor_drops = sum(n for k, n in one["drops"].items() if k.startswith("executor"))
    assert stages["risk"]["passed"] == one["orders"] + executor_drops
    assert one["health"]["parquet_gap_detected_ms"] == {"BTCUSDT": 0.0}
    assert one["health"]["exchange_reference_mismatches"] == []
    metrics = (first / "var" / "metrics" / "scalper-executor.prom").read_text()
    assert 'trades_opened_total{route="paper"}' in metrics
    assert "avg_markout_100ms" in metrics


def test_scalper_run_when_run_again_then_the_tape_continues(tmp_path: Path) -> None:
    _summary(tmp_path)
    again = _run(tmp_path, "run", "--max-messages", "200", "--json")
    assert again.returncode == 0, again.stderr
    archive = tmp_path / "var" / "lake" / "ticks" / "symbol=BTCUSDT"
    files = sorted(p.name for p in archive.rglob("*.parquet"))
    # the second run starts where the first stopped: no file of it starts at the tape's start
    assert len(files) >= 2
    assert len({name.split("-")[1] for name in files}) == len(files)


def test_scalper_run_when_input_bad_then_exit_2_naming_the_fix(tmp_path: Path) -> None:
    rate = _run(tmp_path, "run", "--rate", "fast")
    assert rate.returncode == 2
    assert "--rate 'fast'" in rate.stderr
    (tmp_path / "tradeloop.yaml").write_text("scalper:\n  symbols: [ETHUSDT]\n")
    config = _run(tmp_path, "run", "--max-messages", "10")
    assert config.returncode == 2
    assert "scalper.instruments" in config.stderr
    assert "Traceback" not in config.stderr
