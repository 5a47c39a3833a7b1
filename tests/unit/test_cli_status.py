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
