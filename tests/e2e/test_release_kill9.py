"""`tradeloop scalper train` then `tradeloop release` as a user runs them, with the
release process killed (-9) in every stage and started again: it resumes where it was,
waits what is left, skips no stage, and ends with the model active and 100 % routed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from tradeloop.store.sql.tables import model_aliases, rollout_state
from tradeloop.testing.waiting import wait_until

START = "2026-01-05T00:00:00Z"
PINNED = "2026-01-06T09:00:00Z"
CONFIG = """
release:
  shadow_hours: 0.001
  canary_hours: 0.001
  ramp_hours: 0.001
  freeze_hours: 1
  simulation_steps: 1000
  min_win_rate: 0.0
  min_avg_markout_bps: -100000
  min_fill_rate: 0.0
rollout:
  mode: disabled
"""


def _env(root: Path) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "EXCHANGE_"))
    }
    environment["TRADELOOP_HOME"] = str(root / "var")
    return environment


def _tl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *args], cwd=root, env=_env(root),
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _release(root: Path, model_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED, "release",
         "--shadow-id", model_id, "--poll-seconds", "0.1", "--json"],
        cwd=root, env=_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _doc(engine: Any, model_id: str) -> dict[str, Any] | None:
    query = select(rollout_state.c.state_json).where(rollout_state.c.name == f"release:{model_id}")
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else json.loads(row[0])


def test_release_when_killed_in_every_stage_then_resumes_to_full_rollout(tmp_path: Path) -> None:
    (tmp_path / "tradeloop.yaml").write_text(CONFIG)
    run = _tl(tmp_path, "scalper", "run", "--max-messages", "60000", "--start", START, "--json")
    assert run.returncode == 0, run.stderr
    trained = _tl(tmp_path, "scalper", "train", "--json")
    assert trained.returncode == 0, trained.stderr
    model_id = json.loads(trained.stdout)["model_version_id"]
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'tradeloop.db'}")
    killed_in = []
    for stage in ("shadow", "canary", "ramp-25", "ramp-50"):
        process = _release(tmp_path, model_id)
        try:
            wait_until(
                lambda s=stage: (_doc(engine, model_id) or {}).get("stage") == s,  # type: ignore[misc]
                f"the release in {stage}", timeout_s=120, interval_s=0.02,
                alive=lambda p=process: p.poll() is None,  # type: ignore[misc]
            )  # fmt: skip
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate()
        killed_in.append(_doc(engine, model_id)["stage"])  # type: ignore[index]
    final = _release(tmp_path, model_id)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    state = json.loads(out)
    assert killed_in == ["shadow", "canary", "ramp-25", "ramp-50"]
    assert state["outcome"] == "done"
    assert [h["stage"] for h in state["history"]] == [
        "shadow", "canary", "ramp-25", "ramp-50", "full", "done"
    ]  # fmt: skip
    assert err.count("resuming the release") == 1
    with engine.connect() as connection:
        aliases = {r.alias: r.model_version_id for r in connection.execute(select(model_aliases))}
    assert aliases["active"] == model_id
    status = subprocess.run(
        [sys.executable, "-m", "tradeloop.testing.pinned_clock", PINNED, "rollout", "status",
         "--json"], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    view = json.loads(status.stdout)
    assert view["routing"]["mode"] == "full"
    assert view["routing"]["frozen_until"] is not None
    assert view["releases"][0]["outcome"] == "done"
    engine.dispose()
