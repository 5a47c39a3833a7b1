"""`tradeloop collect`, `labels build` and `export` as a user runs them, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from tradeloop.core.time import parse_ns

# A Wednesday afternoon in New York: "the last 30 days" of synthetic minute bars is the same
# whatever day the suite runs. Each command starts at this instant, then its clock ticks.
PINNED = "2026-06-03T18:00:05Z"


def _run(root: Path, *args: str, at: str = PINNED, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "LIVE_"))}
    environment |= {"TRADELOOP_HOME": str(root / "var"), **env}
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.testing.pinned_clock", at, *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_collect_labels_export_when_offline_then_training_view_ready(tmp_path: Path) -> None:
    first = _run(
        tmp_path,
        "collect",
        "--source",
        "synthetic",
        "--symbols",
        "SPY",
        "--range",
        "30d",
        "--once",
        "--json",
    )
    assert first.returncode == 0, first.stderr
    health = json.loads(first.stdout)
    assert health["status"] == "ok"
    assert health["bars_today"] > 5_000
    assert health["events_today"] > 100
    again = json.loads(
        _run(
            tmp_path,
            "collect",
            "--source",
            "synthetic",
            "--symbols",
            "SPY",
            "--range",
            "30d",
            "--once",
            "--json",
        ).stdout
    )
    assert (again["bars_today"], again["events_today"]) == (0, 0)  # resumed, nothing twice

    labels = json.loads(_run(tmp_path, "labels", "build", "--json").stdout)
    assert labels["labels_written"] > labels["events"] > 100
    exported = json.loads(_run(tmp_path, "export", "--json").stdout)
    assert exported["partitions_written"] > 0
    assert json.loads(_run(tmp_path, "export", "--json").stdout)["partitions_written"] == 0
    assert _run(tmp_path, "export", "--check").returncode == 0

    with duckdb.connect(exported["duckdb"], read_only=True) as connection:
        horizons = connection.sql(
            "SELECT DISTINCT horizon_bars FROM training_view ORDER BY 1"
        ).fetchall()
        hashes = connection.sql("SELECT DISTINCT feature_schema_hash FROM events").fetchall()
    assert horizons == [(5,), (15,), (60,)]
    assert len(hashes) == 1

    part = next((tmp_path / "var" / "lake" / "events").rglob("*.parquet"))
    part.write_bytes(part.read_bytes()[:-10] + b"0123456789")
    broken = _run(tmp_path, "export", "--check")
    assert broken.returncode == 1
    assert "checksum mismatch" in broken.stdout


def test_collect_when_live_collector_env_set_then_it_overrides_config(tmp_path: Path) -> None:
    # The bundled EURUSD=X hours end on 2018-02-07: collect as if it were the day after.
    env = {
        "LIVE_COLLECTOR_SOURCE": "bundled",
        "LIVE_COLLECTOR_SYMBOLS": "EURUSD=X",
        "LIVE_COLLECTOR_RANGE": "120d",
    }
    result = _run(tmp_path, "collect", "--once", "--json", at="2018-02-08T12:00:00Z", **env)
    assert result.returncode == 2  # bundled EURUSD=X is hourly; 1m asked: a clear error
    assert "bar_interval_sec=3600" in json.loads(result.stdout)["last_error"]
    hourly = _run(
        tmp_path,
        "collect",
        "--once",
        "--json",
        "--interval",
        "1h",
        at="2018-02-08T12:00:00Z",
        **env,
    )
    assert hourly.returncode == 0, hourly.stderr
    health = json.loads(hourly.stdout)
    assert health["source"] == "bundled"
    assert health["symbols"]["EURUSD=X"]["last_bar_ts"] == parse_ns("2018-02-07T15:00:00Z")
    assert health["events_today"] > 100


def test_collect_when_binding_beyond_loopback_without_token_then_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, "collect", "--source", "synthetic", "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "needs TRADELOOP_API_TOKEN" in result.stderr


def test_labels_when_as_of_malformed_then_exit_2_with_example(tmp_path: Path) -> None:
    result = _run(tmp_path, "labels", "build", "--as-of", "yesterday")
    assert result.returncode == 2
    assert "--as-of" in result.stderr
    assert "2018-12-31" in result.stderr
