"""Each host-health check firing and not firing; the CLI's exit code is the worst check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.ops import host_health as h
from tradeloop.ops.config import HealthConfig

MB = 1_000_000


@pytest.mark.parametrize(
    ("warn", "crit", "expected"),
    [(99.9, 100.0, "ok"), (0.001, 99.9, "warn"), (0.001, 0.002, "crit")],
)
def test_disk_check_by_thresholds(tmp_path: Path, warn: float, crit: float, expected: str) -> None:
    check = h.disk_check(tmp_path, HealthConfig(disk_warn_pct=warn, disk_crit_pct=crit))
    assert check.status == expected
    assert "% used" in check.detail


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        (None, 900 * MB, "ok"),  # first check: nothing to compare
        (100 * MB, 100 * MB + MB // 2, "ok"),  # below db_growth_min_mb: noise
        (100 * MB, 700 * MB, "warn"),
        (100 * MB, 2200 * MB, "crit"),
        (900 * MB, 100 * MB, "ok"),  # shrank (vacuum, retention)
    ],
)
def test_db_growth_since_last_check(previous: int | None, now: int, expected: str) -> None:
    assert h.growth_check(now, previous, HealthConfig()).status == expected


def test_restarts_since_last_check() -> None:
    config = HealthConfig(restart_warn_delta=3)
    assert h.restart_check({}, {}, config).status == "ok"
    assert h.restart_check({"scorer": 2, "api": 1}, {"scorer": 1}, config).status == "ok"
    fired = h.restart_check({"scorer": 5, "api": 1}, {"scorer": 1, "api": 1}, config)
    assert fired.status == "warn"
    assert "scorer +4" in fired.detail


@pytest.mark.parametrize(
    ("age", "expected"), [(None, "warn"), (10.0, "ok"), (80.0, "warn"), (200.0, "crit")]
)
def test_model_age(age: float | None, expected: str) -> None:
    assert h.model_age_check(age, 72.0, 168.0).status == expected


def test_worst_of_checks() -> None:
    checks = [h.Check("a", "ok", ""), h.Check("b", "crit", ""), h.Check("c", "warn", "")]
    assert h.worst(checks) == "crit"
    assert h.worst([]) == "ok"


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    env["TRADELOOP_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", "health", "--json", *args],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_health_cli_exit_code_is_the_worst_check(tmp_path: Path) -> None:
    home = tmp_path / "var"
    relaxed = tmp_path / "relaxed.yaml"
    relaxed.write_text("health:\n  check_services: false\n")
    first = _cli(home, "--config", str(relaxed))
    assert first.returncode == 1  # no active model yet: warn
    names = {c["name"]: c["status"] for c in json.loads(first.stdout)["checks"]}
    assert names["kill_switch"] == "ok"
    assert "service:scorer" not in names
    (home / "KILL_SWITCH").write_text("halt\n")
    killed = json.loads(_cli(home, "--config", str(relaxed)).stdout)
    assert {c["name"]: c["status"] for c in killed["checks"]}["kill_switch"] == "warn"
    full_disk = tmp_path / "full.yaml"
    full_disk.write_text(
        "health:\n  check_services: false\n  disk_warn_pct: 0.001\n  disk_crit_pct: 0.002\n"
    )
    crit = _cli(home, "--config", str(full_disk))
    assert crit.returncode == 2
    assert json.loads(crit.stdout)["status"] == "crit"
    assert json.loads((home / "health_state.json").read_text())["db_bytes"] > 0
