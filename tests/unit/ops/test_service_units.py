"""Service definitions for systemd and launchd: absolute paths, no secrets, valid files
(systemd-analyze verify where it exists), the report's day per time."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.ops.service_units import Target, launchd_plists, systemd_units


def _target(tmp_path: Path) -> Target:
    exe = tmp_path / "bin" / "tradeloop"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return Target(
        executable=exe,
        workdir=tmp_path,
        home=tmp_path / "var",
        config=tmp_path / "tradeloop.yaml",
        secrets_file=tmp_path / "secrets.env",
    )


def test_systemd_units_run_the_stack_scheduler_and_reports(tmp_path: Path) -> None:
    units = systemd_units(_target(tmp_path))
    reports = {f"tradeloop-report-{t}.{k}" for t in ("1630", "0830") for k in ("service", "timer")}
    assert set(units) == {"tradeloop-stack.service", "tradeloop-scheduler.service", *reports}
    stack = units["tradeloop-stack.service"]
    assert f"ExecStart={tmp_path}/bin/tradeloop up --only api,scorer,collector --config" in stack
    assert "Restart=on-failure" in stack
    assert f"Environment=TRADELOOP_SECRETS_FILE={tmp_path}/secrets.env" in stack
    assert "--date yesterday" in units["tradeloop-report-0830.service"]
    assert "--date today" in units["tradeloop-report-1630.service"]
    assert (
        "OnCalendar=Mon..Fri *-*-* 16:30:00 America/New_York"
        in units["tradeloop-report-1630.timer"]
    )
    if shutil.which("systemd-analyze"):
        folder = tmp_path / "units"
        folder.mkdir()
        for name, text in units.items():
            (folder / name).write_text(text)
        verified = subprocess.run(
            ["systemd-analyze", "verify", *map(str, folder.iterdir())],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr


def test_launchd_plists_keep_the_stack_alive_and_schedule_reports(tmp_path: Path) -> None:
    plists = {
        name: plistlib.loads(data) for name, data in launchd_plists(_target(tmp_path)).items()
    }
    stack = plists["com.tradeloop.stack.plist"]
    assert stack["KeepAlive"] == {"SuccessfulExit": False}
    assert stack["ProgramArguments"][:4] == [
        f"{tmp_path}/bin/tradeloop",
        "up",
        "--only",
        "api,scorer,collector",
    ]
    morning = plists["com.tradeloop.report-0830.plist"]
    assert {(c["Weekday"], c["Hour"], c["Minute"]) for c in morning["StartCalendarInterval"]} == {
        (day, 8, 30) for day in range(1, 6)
    }
    assert "yesterday" in morning["ProgramArguments"]
    assert "KeepAlive" not in morning


def test_install_service_cli_never_writes_a_secret(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("NOTIFY_SMTP_PASSWORD=very-secret-pw\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADELOOP_", "NOTIFY_"))}
    env.update(
        {
            "TRADELOOP_HOME": str(tmp_path / "var"),
            "TRADELOOP_SECRETS_FILE": str(secrets),
            "NOTIFY_WEBHOOK_URL": "https://hooks.example/very-secret-path",
        }
    )
    for manager in ("systemd", "launchd"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tradeloop.cli",
                "install-service",
                manager,
                "--dir",
                str(tmp_path / manager),
                "--json",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        written = [Path(p) for p in json.loads(done.stdout)["written"]]
        assert written
        for path in written:
            text = path.read_text()
            assert "very-secret" not in text
            assert str(secrets) in text or path.suffix == ".timer"
    command = [sys.executable, "-m", "tradeloop.cli", "install-service", "upstart"]
    bad = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "systemd or launchd" in bad.stderr


@pytest.mark.parametrize(("at", "day"), [("08:30", "yesterday"), ("16:30", "today")])
def test_report_day(at: str, day: str) -> None:
    from tradeloop.ops.service_units import report_day

    assert report_day(at) == day
