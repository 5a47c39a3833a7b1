"""`tradeloop tools ...` on what a scalper run recorded (the journal, the tick archive)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

START = "2026-01-05T00:00:00Z"


def _tl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))
    }
    environment["TRADELOOP_HOME"] = str(root / "var")
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args],
        cwd=root, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tools")
    run = _tl(root, "scalper", "run", "--max-messages", "8000", "--start", START, "--json")
    assert run.returncode == 0, run.stderr
    return root


def test_calibrate_then_simulate_when_recorded_then_curves_feed_the_monte_carlo(
    recorded: Path,
) -> None:
    curves = _json(_tl(recorded, "tools", "calibrate-fills", "--json",
                       "--out", str(recorded / "curves.json")))  # fmt: skip
    buy = curves["sides"]["BUY"]
    probabilities = [p for p in buy["fill_probability"] if p is not None]
    assert buy["orders"] > 0
    assert probabilities == sorted(probabilities)  # a curve never falls with the horizon
    report = _json(_tl(recorded, "tools", "simulate-execution", "--runs", "30", "--json",
                       "--fills", str(recorded / "curves.json")))  # fmt: skip
    assert report["fill_model"] == "calibrated curves"
    assert 0 <= report["fill_rate"]["p5"] <= report["fill_rate"]["p95"] <= 1
    every = _json(_tl(recorded, "tools", "simulate-execution", "--runs", "30", "--json"))
    assert every["fill_rate"]["p50"] == 1.0  # without curves every order fills
    again = _json(_tl(recorded, "tools", "simulate-execution", "--runs", "30", "--json"))
    assert again == every  # seeded


def test_hpo_and_thresholds_when_recorded_then_precision_ranked_and_per_regime(
    recorded: Path,
) -> None:
    hpo = _json(_tl(recorded, "tools", "hpo", "--trials", "6", "--top", "3", "--json"))
    objectives = [t["objective"] for t in hpo["top"]]
    assert len(objectives) == 3
    assert objectives == sorted(objectives, reverse=True)
    assert {"levels", "min_imbalance", "cooldown_ms", "tau_entry", "precision"} <= set(
        hpo["top"][0]
    )
    thresholds = _json(_tl(recorded, "tools", "thresholds", "--min-support", "5", "--json"))
    assert set(thresholds["regimes"]) == {"calm", "normal", "volatile"}
    assert thresholds["candidates"] > 0


def test_checks_when_problems_then_exit_1_and_named(recorded: Path, tmp_path: Path) -> None:
    clean = _tl(recorded, "tools", "scan-gaps", "--json")
    assert clean.returncode == 0, clean.stderr
    gaps = _tl(recorded, "tools", "scan-gaps", "--max-gap-ms", "50")  # the tape's 100 ms step
    assert gaps.returncode == 1
    assert "gap BTCUSDT" in gaps.stdout
    assert _tl(recorded, "tools", "validate-symbols").returncode == 0
    config = tmp_path / "fees.yaml"
    config.write_text(
        "scalper:\n  instruments:\n    BTCUSDT: {lot_size: 0.001, tick_size: 0.1, "
        "min_qty: 0.001, maker_fee: 0.0001, taker_fee: 0.00055}\n"
    )
    wrong = _tl(recorded, "tools", "validate-symbols", "--config", str(config))
    assert wrong.returncode == 1
    assert "BTCUSDT.maker_fee: configured 0.0001, venue 0.0002" in wrong.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("scalper:\n  executor:\n    warmup: {seconds: -1}\n")
    invalid = _tl(recorded, "tools", "validate-config", str(bad))
    assert invalid.returncode == 2
    assert "seconds" in invalid.stderr
    assert "Traceback" not in invalid.stderr


def test_profile_when_run_then_top_functions_and_stats_file(recorded: Path) -> None:
    out = recorded / "run.pstats"
    result = _tl(recorded, "tools", "profile", "--top", "5", "--out", str(out), "--",
                 "tools", "validate-symbols")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "cumulative" in result.stdout
    assert out.stat().st_size > 0
