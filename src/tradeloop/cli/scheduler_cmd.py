"""``tradeloop scheduler``: retrain, reports, backups, drills and health on a timetable."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors


def scheduler(
    list_only: Annotated[
        bool, typer.Option("--list", help="print the timetable and the next runs, then exit")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable --list")] = False,
) -> None:
    """Run the desk's timetable (config `scheduler`): retrain every 6 h, the daily report
    after the close and in the morning (sent through notify.channels), the nightly backup,
    the weekly restore drill and host health every few minutes. Each run is a child
    process logged to var/logs/scheduler.jsonl; a failed run is an alert (notify). Runs
    missed while the scheduler was down run once at start (scheduler.catch_up). One
    scheduler at a time; SIGTERM stops it (running jobs get SIGTERM too).

    Examples:

      tradeloop scheduler --list

      tradeloop scheduler

    Exit codes: 0 stopped on a signal, 2 another scheduler runs or bad configuration.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    from tradeloop.bootstrap.app import build_app
    from tradeloop.core.single_instance import exclusive
    from tradeloop.ops.scheduler import JobRunner, install, timetable
    from tradeloop.settings import load_settings

    console = Console(highlight=False)
    with handled_errors():
        app = build_app(load_settings(), config)
        settings = app.config.scheduler
        jobs = timetable(
            settings, app.config.health.interval_s, notify=bool(app.config.notify.channels)
        )
        if list_only:
            _show(jobs, as_json, console)
            return
        with exclusive(app.settings.home / "scheduler.lock", "scheduler"):
            runner = JobRunner(
                app.settings.home,
                settings,
                echo=console.print,
                on_failure=lambda job, why: _alert(app, job, why, console),
            )
            blocking = BlockingScheduler(timezone=settings.timezone)
            for line in install(blocking, jobs, runner, datetime.now(UTC)):
                console.print(f"scheduler: {line}")

            def stop(signum: int, frame: object) -> None:
                runner.stop()
                blocking.shutdown(wait=False)

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            runner.record({"job": "scheduler", "event": "started", "jobs": [j.name for j in jobs]})
            console.print(f"scheduler: {len(jobs)} jobs; stop with SIGTERM or Ctrl-C")
            blocking.start()
            runner.record({"job": "scheduler", "event": "stopped"})


def _show(jobs: list[Any], as_json: bool, console: Console) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "job": job.name,
            "command": "tradeloop " + " ".join(job.argv),
            "trigger": str(job.trigger),
            "next_run": (job.trigger.get_next_fire_time(None, now) or now).isoformat(),
        }
        for job in jobs
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="tradeloop scheduler timetable")
    for column in ("job", "trigger", "next run", "command"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["job"], row["trigger"], row["next_run"], row["command"])
    console.print(table)


def _alert(app: Any, job: str, why: str, console: Console) -> None:
    from tradeloop.usecases.notifications import send_report

    try:
        send_report(
            app.notifier(), f"tradeloop ALERT: scheduled {job} failed", f"{job}: {why}", "crit"
        )
    except Exception as exc:  # the scheduler keeps going; the log has the failure
        console.print(f"notify: alert not sent ({exc})")
