"""Unit files for running the desk as services: systemd (Linux) and launchd (macOS, as
the runbooks' stacks ran). Pure text generation; nothing is enabled or started here.

- the stack (``tradeloop up`` without the scheduler: api, scorer, collector), restarted by
  the service manager if ``up`` itself ever dies;
- the scheduler (``tradeloop scheduler``: retrain, reports, backups, drills, health);
- the daily report alone (a timer / calendar job) for machines that run reports without
  the scheduler: enable either the scheduler or the report job, not both.

Secrets are never written into a unit: the units point at ``TRADELOOP_SECRETS_FILE``.
"""

from __future__ import annotations

import plistlib
import shlex
from dataclasses import dataclass
from pathlib import Path

STACK_COMPONENTS = "api,scorer,collector"


@dataclass(frozen=True, slots=True)
class Target:
    executable: Path  # the tradeloop console script
    workdir: Path
    home: Path  # TRADELOOP_HOME
    config: Path | None = None
    secrets_file: Path | None = None
    report_times: tuple[str, ...] = ("16:30", "08:30")
    timezone: str = "America/New_York"

    def argv(self, *args: str) -> list[str]:
        extra = ["--config", str(self.config)] if self.config else []
        return [str(self.executable), *args, *extra]

    def environment(self) -> dict[str, str]:
        env = {"TRADELOOP_HOME": str(self.home)}
        if self.secrets_file is not None:
            env["TRADELOOP_SECRETS_FILE"] = str(self.secrets_file)
        return env


def report_day(at: str) -> str:
    """A morning report is about the previous day, an evening one about today."""
    return "yesterday" if int(at.split(":")[0]) < 12 else "today"


def systemd_units(target: Target) -> dict[str, str]:
    env = "\n".join(f"Environment={k}={v}" for k, v in target.environment().items())

    def service(description: str, args: list[str], extra: str = "") -> str:
        return (
            f"[Unit]\nDescription={description}\nAfter=network-online.target\n"
            f"Wants=network-online.target\n\n[Service]\n{extra}"
            f"WorkingDirectory={target.workdir}\n{env}\n"
            f"ExecStart={shlex.join(args)}\n"
        )

    long_running = (
        "Type=simple\nRestart=on-failure\nRestartSec=5\nKillSignal=SIGTERM\nTimeoutStopSec=60\n"
    )
    reports: dict[str, str] = {}
    for at in target.report_times:
        stem = f"tradeloop-report-{at.replace(':', '')}"
        reports[f"{stem}.service"] = service(
            f"tradeloop daily ML report ({at})",
            target.argv("report", "daily", "--date", report_day(at), "--notify"),
            "Type=oneshot\n",
        )
        reports[f"{stem}.timer"] = (
            f"[Unit]\nDescription=tradeloop daily ML report at {at}\n\n"
            f"[Timer]\nOnCalendar=Mon..Fri *-*-* {at}:00 {target.timezone}\nPersistent=true\n"
            f"Unit={stem}.service\n\n[Install]\nWantedBy=timers.target\n"
        )
    return {
        "tradeloop-stack.service": service(
            "tradeloop stack (control API, scorer, collector)",
            target.argv("up", "--only", STACK_COMPONENTS),
            long_running,
        )
        + "\n[Install]\nWantedBy=default.target\n",
        "tradeloop-scheduler.service": service(
            "tradeloop scheduler (retrain, reports, backups, drills, health)",
            target.argv("scheduler"),
            long_running,
        )
        + "\n[Install]\nWantedBy=default.target\n",
        **reports,
    }


def launchd_plists(target: Target) -> dict[str, bytes]:
    logs = target.home / "logs"

    def agent(label: str, args: list[str], keep_alive: bool, **extra: object) -> bytes:
        plist: dict[str, object] = {
            "Label": label,
            "ProgramArguments": args,
            "WorkingDirectory": str(target.workdir),
            "EnvironmentVariables": target.environment(),
            "StandardOutPath": str(logs / f"{label}.out.log"),
            "StandardErrorPath": str(logs / f"{label}.err.log"),
            "RunAtLoad": keep_alive,
            **extra,
        }
        if keep_alive:
            plist["KeepAlive"] = {"SuccessfulExit": False}
            plist["ThrottleInterval"] = 10
        return plistlib.dumps(plist)

    reports: dict[str, bytes] = {}
    for at in target.report_times:
        hour, minute = (int(part) for part in at.split(":"))
        label = f"com.tradeloop.report-{at.replace(':', '')}"
        # launchd calendars are in the Mac's local time: report_times are used as given
        reports[f"{label}.plist"] = agent(
            label,
            target.argv("report", "daily", "--date", report_day(at), "--notify"),
            False,
            StartCalendarInterval=[
                {"Weekday": day, "Hour": hour, "Minute": minute} for day in range(1, 6)
            ],
        )
    return {
        "com.tradeloop.stack.plist": agent(
            "com.tradeloop.stack", target.argv("up", "--only", STACK_COMPONENTS), True
        ),
        "com.tradeloop.scheduler.plist": agent(
            "com.tradeloop.scheduler", target.argv("scheduler"), True
        ),
        **reports,
    }
