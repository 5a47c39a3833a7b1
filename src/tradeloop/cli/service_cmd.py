"""``tradeloop install-service systemd|launchd``: unit files for the stack, the scheduler
and the daily report."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tradeloop.cli.errors import handled_errors
from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.errors import ConfigError

DEFAULT_DIRS = {
    "systemd": Path("~/.config/systemd/user"),
    "launchd": Path("~/Library/LaunchAgents"),
}


def install_service(
    manager: Annotated[str, typer.Argument(help="systemd or launchd")],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="where to write (default: the user's unit folder)"),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="config file the services use")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Write service definitions: the stack (tradeloop up: api, scorer, collector), the
    scheduler, and the daily report as a timer / calendar job (enable the scheduler or the
    report job, not both). Paths are absolute: this install's tradeloop, TRADELOOP_HOME,
    the config and TRADELOOP_SECRETS_FILE (never the secrets themselves). Nothing is
    enabled: the command prints how.

    Examples:

      tradeloop install-service systemd

      tradeloop install-service launchd --dir ./deploy/launchd

    Exit codes: 0 written, 2 unknown manager or unusable paths.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.ops.service_units import Target, launchd_plists, systemd_units
    from tradeloop.settings import load_settings

    with handled_errors():
        if manager not in DEFAULT_DIRS:
            raise ConfigError(f"{manager!r}: use systemd or launchd")
        app = build_app(load_settings(), config)
        executable = Path(shutil.which("tradeloop") or Path(sys.executable).parent / "tradeloop")
        if not executable.exists():
            raise ConfigError(f"cannot find the tradeloop command (looked at {executable})")
        secrets = os.environ.get("TRADELOOP_SECRETS_FILE")
        target = Target(
            executable=executable.resolve(),
            workdir=Path.cwd().resolve(),
            home=app.settings.home.resolve(),
            config=config.resolve() if config else None,
            secrets_file=Path(secrets).resolve() if secrets else None,
            report_times=app.config.scheduler.report_times,
            timezone=app.config.scheduler.timezone,
        )
        folder = (directory or DEFAULT_DIRS[manager]).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, str | bytes] = dict(
            systemd_units(target) if manager == "systemd" else launchd_plists(target)
        )
        written = []
        for name, content in files.items():
            path = folder / name
            write_atomic(path, content if isinstance(content, str) else content.decode())
            written.append(str(path))
    if manager == "systemd":
        steps = [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now tradeloop-stack.service tradeloop-scheduler.service",
            "# or reports only: systemctl --user enable --now 'tradeloop-report-*.timer'",
        ]
    else:
        steps = [
            f"launchctl load -w {folder}/com.tradeloop.stack.plist",
            f"launchctl load -w {folder}/com.tradeloop.scheduler.plist",
            f"# or reports only: launchctl load -w {folder}/com.tradeloop.report-*.plist",
        ]
    if as_json:
        print(json.dumps({"written": written, "enable": steps}, indent=2))
        return
    console = Console(highlight=False)
    for name in written:
        console.print(f"wrote {name}")
    console.print("enable with:")
    for step in steps:
        console.print(f"  {step}")
