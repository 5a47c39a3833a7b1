"""The scheduler's timetable, missed-run handling, job runs and single instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from tradeloop.ops.config import SchedulerConfig
from tradeloop.ops.scheduler import Job, JobRunner, install, missed_since, timetable

NY = ZoneInfo("America/New_York")


def _jobs(notify: bool = False) -> dict[str, Job]:
    return {job.name: job for job in timetable(SchedulerConfig(), notify=notify)}


def test_timetable_next_runs_follow_the_config() -> None:
    jobs = _jobs()
    friday_3pm = datetime(2026, 11, 20, 15, 0, tzinfo=NY)

    def next_run(name: str) -> datetime:
        fire = jobs[name].trigger.get_next_fire_time(None, friday_3pm)
        assert fire is not None
        return fire.astimezone(NY)

    assert next_run("report@16:30") == datetime(2026, 11, 20, 16, 30, tzinfo=NY)
    assert next_run("report@08:30") == datetime(2026, 11, 23, 8, 30, tzinfo=NY)  # Monday
    assert next_run("backup") == datetime(2026, 11, 21, 2, 30, tzinfo=NY)
    assert next_run("restore-drill") == datetime(2026, 11, 22, 3, 30, tzinfo=NY)  # Sunday
    assert jobs["report@08:30"].argv[:4] == ("report", "daily", "--date", "yesterday")
    assert jobs["report@16:30"].argv[:4] == ("report", "daily", "--date", "today")
    assert "--notify" not in jobs["report@16:30"].argv  # no channel configured
    assert "--notify" in _jobs(notify=True)["report@16:30"].argv
    assert "retrain" not in {j.name for j in timetable(SchedulerConfig(retrain_every_hours=0))}


def test_missed_runs_counted_between_last_run_and_now() -> None:
    backup = _jobs()["backup"].trigger
    now = datetime(2026, 11, 20, 12, 0, tzinfo=NY)
    assert missed_since(backup, None, now) == 0  # never ran: starts on its timetable
    assert missed_since(backup, now - timedelta(hours=1), now) == 0  # ran after 02:30 today
    assert missed_since(backup, datetime(2026, 11, 17, 3, 0, tzinfo=NY), now) == 3  # 18, 19, 20


def test_install_when_runs_were_missed_then_run_once_now_or_skipped(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    (tmp_path / "scheduler_state.json").write_text(
        json.dumps({"backup": (now - timedelta(days=3)).isoformat()})
    )
    for catch_up in (True, False):
        runner = JobRunner(tmp_path, SchedulerConfig(catch_up=catch_up))
        scheduler = BackgroundScheduler(timezone="UTC")
        said = install(scheduler, list(timetable(runner.config)), runner, now)
        backup = scheduler.get_job("backup")
        assert any(line.startswith("backup: 3 run(s) missed") for line in said)
        assert (getattr(backup, "next_run_time", None) == now) is catch_up
    logged = [
        json.loads(x) for x in (tmp_path / "logs" / "scheduler.jsonl").read_text().splitlines()
    ]
    assert [e["action"] for e in logged if e["job"] == "backup"] == [
        "running it once now",
        "skipped (catch_up off)",
    ]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    env["TRADELOOP_HOME"] = str(home)
    return env


def test_job_runner_records_runs_and_reports_failures(tmp_path: Path) -> None:
    failures: list[tuple[str, str]] = []
    runner = JobRunner(
        tmp_path,
        SchedulerConfig(),
        env=_env(tmp_path),
        on_failure=lambda job, why: failures.append((job, why)),
    )
    assert runner.run(Job("backup", ("backup", "--json"), _jobs()["backup"].trigger)) == 0
    drill = Job(
        "restore-drill",
        ("restore-drill", "--json", "--snapshot", str(tmp_path / "x")),
        _jobs()["restore-drill"].trigger,
    )
    assert runner.run(drill) == 1
    assert [job for job, _ in failures] == ["restore-drill"]
    assert set(runner.last_runs()) == {"backup", "restore-drill"}
    runs = [json.loads(x) for x in (tmp_path / "logs" / "scheduler.jsonl").read_text().splitlines()]
    assert [(r["job"], r["exit_code"]) for r in runs] == [("backup", 0), ("restore-drill", 1)]


def test_scheduler_catches_up_at_start_runs_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "var"
    home.mkdir()
    (tmp_path / "tradeloop.yaml").write_text(
        "scheduler:\n  retrain_every_hours: 0\n  report_times: []\n"
        "health:\n  check_services: false\n"
    )
    last = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    (home / "scheduler_state.json").write_text(json.dumps({"backup": last}))
    env = _env(home)
    command = [sys.executable, "-m", "tradeloop.cli", "scheduler"]
    first = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log = home / "logs" / "scheduler.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if log.exists() and '"job": "backup", "event": "ran"' in log.read_text():
                break
            time.sleep(0.2)
        second = subprocess.run(
            [sys.executable, "-m", "tradeloop.cli", "scheduler"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert "another scheduler is running" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, output
    events = [json.loads(x) for x in log.read_text().splitlines()]
    assert [e["event"] for e in events if e["job"] == "backup"] == ["missed", "ran"]
    assert events[-1] == {**events[-1], "job": "scheduler", "event": "stopped"}
    assert len(list((home / "backups").glob("snapshot-*"))) == 1
