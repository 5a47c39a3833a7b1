"""``tradeloop scheduler``: the desk's timetable on APScheduler.

Jobs run as their own CLI commands in a child process (the same code path an operator
runs; a crash or a leak in one run never takes the scheduler down; a run past
``job_timeout_seconds`` is killed). Each run is a line in ``var/logs/scheduler.jsonl``
(job, exit code, seconds, the command's last output line) and its time in
``var/scheduler_state.json``. Missed runs are handled explicitly: at start, a job whose
scheduled time passed since its last recorded run (the machine was off, the scheduler
stopped) runs once now when ``catch_up`` is on (several missed runs coalesce into one),
and is logged as ``missed`` either way; while running, a run delayed past
``misfire_grace_seconds`` is logged as missed instead of run late. One scheduler at a time
(``var/scheduler.lock``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tradeloop.core.atomic_file import write_atomic
from tradeloop.ops.config import SchedulerConfig
from tradeloop.ops.service_units import report_day

# Exit codes that are verdicts, not failures: health 1 = warn.
NOT_FAILURES = {"health": {0, 1}}


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    argv: tuple[str, ...]  # tradeloop arguments
    trigger: BaseTrigger


def timetable(
    config: SchedulerConfig, health_seconds: int | None = None, *, notify: bool = False
) -> list[Job]:
    """The jobs; ``notify``: channels are configured (reports are then sent)."""
    zone = config.timezone
    jobs = []
    if config.retrain_every_hours > 0:
        every = IntervalTrigger(hours=config.retrain_every_hours, timezone=zone)
        jobs.append(Job("retrain", ("retrain", "--json"), every))
    send = ("--notify",) if config.report_notify and notify else ()
    for at in config.report_times:
        hour, _, minute = at.partition(":")
        day = report_day(at)
        report = ("report", "daily", "--date", day, "--json", *send)
        jobs.append(
            Job(
                f"report@{at}",
                report,
                CronTrigger(
                    day_of_week=config.report_weekdays,
                    hour=int(hour),
                    minute=int(minute),
                    timezone=zone,
                ),
            )
        )
    jobs.append(
        Job(
            "backup",
            ("backup", "--json"),
            CronTrigger(hour=config.backup_hour, minute=config.backup_minute, timezone=zone),
        )
    )
    jobs.append(
        Job(
            "restore-drill",
            ("restore-drill", "--json"),
            CronTrigger(
                day_of_week=config.drill_weekday,
                hour=config.drill_hour,
                minute=config.drill_minute,
                timezone=zone,
            ),
        )
    )
    seconds = health_seconds or config.health_every_s
    jobs.append(
        Job("health", ("health", "--json"), IntervalTrigger(seconds=seconds, timezone=zone))
    )
    return jobs


def missed_since(trigger: BaseTrigger, last_run: datetime | None, now: datetime) -> int:
    """How many scheduled times fell in (last_run, now]: 0 means nothing was missed.
    A job never run before has missed nothing (it starts on its timetable)."""
    if last_run is None:
        return 0
    count, previous, moment = 0, last_run, last_run
    while count < 1000:
        moment = trigger.get_next_fire_time(previous, moment + timedelta(microseconds=1))
        if moment is None or moment > now:
            break
        count += 1
        previous = moment
    return count


class JobRunner:
    """Runs a job's command in a child process and records it."""

    def __init__(
        self,
        home: Path,
        config: SchedulerConfig,
        *,
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        echo: Callable[[str], None] = lambda line: None,
        on_failure: Callable[[str, str], None] | None = None,
    ) -> None:
        self.home = home
        self.config = config
        self.env = env
        self.python = python
        self.echo = echo
        self.on_failure = on_failure
        self.log_path = home / "logs" / "scheduler.jsonl"
        self.state_path = home / "scheduler_state.json"
        self._children: set[subprocess.Popen[str]] = set()

    def stop(self) -> None:
        """Ask running jobs to finish (SIGTERM): each command stops cleanly on it."""
        for child in list(self._children):
            child.terminate()

    def last_runs(self) -> dict[str, datetime]:
        try:
            raw = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return {name: datetime.fromisoformat(stamp) for name, stamp in raw.items()}

    def run(self, job: Job) -> int:
        started = time.monotonic()
        when = datetime.now(UTC)
        child = subprocess.Popen(  # noqa: S603
            [self.python, "-m", "tradeloop.cli", *job.argv],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._children.add(child)
        try:
            stdout, stderr = child.communicate(timeout=self.config.job_timeout_s)
            code, output = child.returncode, (stderr.strip() or stdout.strip())
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            code, output = -9, f"killed after {self.config.job_timeout_s} s"
        finally:
            self._children.discard(child)
        seconds = round(time.monotonic() - started, 2)
        last_line = (output.splitlines() or [""])[-1][:300]
        self.record(
            {
                "job": job.name,
                "event": "ran",
                "exit_code": code,
                "seconds": seconds,
                "output": last_line,
            }
        )
        runs = {k: v.isoformat() for k, v in self.last_runs().items()}
        runs[job.name] = when.isoformat()
        write_atomic(self.state_path, json.dumps(runs, indent=1, sort_keys=True))
        failed = code not in NOT_FAILURES.get(job.name, {0})
        self.echo(f"{job.name}: exit {code} in {seconds} s" + (f" ({last_line})" if failed else ""))
        if failed and self.on_failure is not None:
            self.on_failure(job.name, f"exit {code}: {last_line}")
        return code

    def record(self, entry: dict[str, Any]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"ts": datetime.now(UTC).isoformat(), **entry})
        with self.log_path.open("a") as handle:
            handle.write(line + "\n")


def install(
    scheduler: BaseScheduler, jobs: list[Job], runner: JobRunner, now: datetime
) -> list[str]:
    """Add every job; returns what was said about missed runs."""
    said = []
    last = runner.last_runs()
    for job in jobs:
        missed = missed_since(job.trigger, last.get(job.name), now)
        run_now = missed > 0 and runner.config.catch_up
        if missed:
            action = "running it once now" if run_now else "skipped (catch_up off)"
            runner.record({"job": job.name, "event": "missed", "count": missed, "action": action})
            said.append(f"{job.name}: {missed} run(s) missed while down; {action}")
        scheduler.add_job(
            runner.run,
            job.trigger,
            args=[job],
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=runner.config.misfire_grace_s,
            **({"next_run_time": now} if run_now else {}),
        )

    def on_missed(event: JobEvent) -> None:
        late = f"later than misfire_grace_seconds; was due {event.scheduled_run_time}"
        runner.record({"job": event.job_id, "event": "missed", "count": 1, "action": late})

    scheduler.add_listener(on_missed, EVENT_JOB_MISSED)
    return said
