"""``tradeloop status`` reports a running component's uptime as of now, not as of the
last time the supervisor rewrote var/run/stack.json (clock pinned)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from typer.testing import CliRunner

from tradeloop.cli.main import app

NOW = datetime(2026, 6, 3, 18, 0, tzinfo=UTC)


def _stack(home: Path, started_ns: int) -> None:
    (home / "run").mkdir(parents=True)
    component = {
        "status": "running",
        "pid": os.getpid(),  # alive: this test process stands in for the component
        "restarts": 0,
        "uptime_s": 5.0,  # as of the file's last write, long ago
        "started_ns": started_ns,
        "last_exit": None,
        "command": "serve api",
        "recent": [],
    }
    stack = {"status": "running", "supervisor_pid": os.getpid(), "components": {"api": component}}
    (home / "run" / "stack.json").write_text(json.dumps(stack))


def test_status_when_a_component_has_run_an_hour_then_its_uptime_is_an_hour(
    tmp_path: Path,
) -> None:
    now_ns = int(NOW.timestamp()) * 1_000_000_000
    _stack(tmp_path, now_ns - 3723 * 1_000_000_000)
    env = {"TRADELOOP_HOME": str(tmp_path), "COLUMNS": "100"}
    with time_machine.travel(NOW, tick=False):
        as_json = CliRunner().invoke(app, ["status", "--json"], env=env)
        table = CliRunner().invoke(app, ["status"], env=env)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["components"]["api"]["uptime_s"] == 3723.0
    assert "1h02m" in table.output


def test_status_when_stack_file_is_damaged_then_exit_2_saying_so_not_no_stack(
    tmp_path: Path,
) -> None:
    (tmp_path / "run").mkdir(parents=True)
    (tmp_path / "run" / "stack.json").write_text('{"status": "running", "compo')
    env = {"TRADELOOP_HOME": str(tmp_path), "COLUMNS": "200"}
    with time_machine.travel(NOW, tick=False):
        result = CliRunner().invoke(app, ["status"], env=env)
    assert result.exit_code == 2
    assert "stack.json is unreadable" in result.output
    assert "delete the file" in result.output
    assert "no stack has run here" not in result.output


def test_status_when_no_stack_ever_ran_then_exit_1_and_how_to_start_one(tmp_path: Path) -> None:
    env = {"TRADELOOP_HOME": str(tmp_path), "COLUMNS": "200"}
    with time_machine.travel(NOW, tick=False):
        result = CliRunner().invoke(app, ["status"], env=env)
    assert result.exit_code == 1
    assert "tradeloop up" in result.output


def test_status_when_scalper_services_run_then_their_counters_show(tmp_path: Path) -> None:
    now_ns = int(NOW.timestamp()) * 1_000_000_000
    _stack(tmp_path, now_ns - 60 * 1_000_000_000)
    stack = json.loads((tmp_path / "run" / "stack.json").read_text())
    stack["components"] = {"executor": stack["components"]["api"]}
    (tmp_path / "run" / "stack.json").write_text(json.dumps(stack))
    (tmp_path / "run" / "scalper").mkdir()
    counters = {"service": "executor", "handled": 12345, "sent": 17, "retries": 2,
                "drops": {"IN_POSITION": 900, "WARMUP": 8, "STALE": 3}}  # fmt: skip
    (tmp_path / "run" / "scalper" / "executor.json").write_text(json.dumps(counters))
    env = {"TRADELOOP_HOME": str(tmp_path), "COLUMNS": "200"}
    with time_machine.travel(NOW, tick=False):
        as_json = CliRunner().invoke(app, ["status", "--json"], env=env)
        table = CliRunner().invoke(app, ["status"], env=env)
    assert json.loads(as_json.output)["components"]["executor"]["counters"]["sent"] == 17
    assert "handled 12,345; sent 17; drops IN_POSITION 900, WARMUP 8; retries 2" in table.output
