"""The retrain cycle's step semantics and its lock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tradeloop.usecases.retrain import (
    CycleBusy,
    CycleResult,
    Step,
    StepRefused,
    cycle_lock,
    render_cycle_report,
    run_cycle,
)


def _ok(name: str, **data: Any) -> Step:
    return Step(name, lambda: {"summary": f"{name} done", **data})


def _boom() -> dict[str, Any]:
    raise RuntimeError("disk full")


def _refuse() -> dict[str, Any]:
    raise StepRefused("gates refused c1", {"gate": {"checks": {"beats_baseline": False}}})


def _cycle(tmp_path: Path, steps: list[Step]) -> tuple[CycleResult, list[CycleResult]]:
    recorded: list[CycleResult] = []
    result = run_cycle(
        steps,
        lock_path=tmp_path / "retrain.lock",
        log_path=tmp_path / "retrain.jsonl",
        record=recorded.append,
    )
    return result, recorded


def test_cycle_when_train_fails_then_later_steps_skipped_and_cycle_recorded(
    tmp_path: Path,
) -> None:
    steps = [
        _ok("ingest"),
        Step("train", _boom),
        _ok("evaluate", promoted=True),
        Step("reload", lambda: {}, critical=False, needs_promotion=True),
    ]
    result, recorded = _cycle(tmp_path, steps)
    assert [(s.name, s.status) for s in result.steps] == [
        ("ingest", "ok"),
        ("train", "failed"),
        ("evaluate", "skipped"),
        ("reload", "skipped"),
    ]
    assert result.status == "failed"
    assert recorded == [result]
    assert "disk full" in result.steps[1].detail
    lines = [json.loads(x) for x in (tmp_path / "retrain.jsonl").read_text().splitlines()]
    assert [x.get("name") for x in lines[:-1]] == ["ingest", "train", "evaluate", "reload"]
    assert lines[-1]["status"] == "failed"


def test_cycle_when_reload_fails_then_warning_not_failure(tmp_path: Path) -> None:
    steps = [
        _ok("train"),
        _ok("evaluate", promoted=True),
        Step("reload", _boom, critical=False, needs_promotion=True),
    ]
    result, _ = _cycle(tmp_path, steps)
    assert [s.status for s in result.steps] == ["ok", "ok", "warning"]
    assert result.status == "warning"
    assert "reload: RuntimeError: disk full" in render_cycle_report(result)


def test_cycle_when_gate_refuses_then_reload_skipped_and_report_says_why(tmp_path: Path) -> None:
    steps = [
        _ok("train"),
        Step("evaluate", _refuse),
        Step("reload", _boom, critical=False, needs_promotion=True),
    ]
    result, _ = _cycle(tmp_path, steps)
    assert [s.status for s in result.steps] == ["ok", "refused", "skipped"]
    assert result.status == "ok"
    report = render_cycle_report(result)
    assert "| beats_baseline | FAIL |" in report
    assert "active model keeps serving" in report


def test_cycle_when_record_fails_then_outcome_still_returned(tmp_path: Path) -> None:
    def broken(_: CycleResult) -> None:
        raise ConnectionError("db down")

    result = run_cycle(
        [_ok("train")], lock_path=tmp_path / "l", log_path=tmp_path / "log", record=broken
    )
    assert result.status == "ok"
    assert "db down" in (tmp_path / "log").read_text()


def test_lock_when_another_process_holds_it_then_busy_with_holder(tmp_path: Path) -> None:
    lock = tmp_path / "retrain.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from tradeloop.usecases.retrain import "
            "cycle_lock\nwith cycle_lock(Path(sys.argv[1])):\n print('held', flush=True)\n "
            "time.sleep(30)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CycleBusy, match=f"pid {holder.pid}"):
            run_cycle(
                [_ok("train")], lock_path=lock, log_path=tmp_path / "log", record=lambda _: None
            )
    finally:
        holder.kill()
        holder.communicate()
    with cycle_lock(lock):  # a killed holder's lock is released by the kernel
        pass
