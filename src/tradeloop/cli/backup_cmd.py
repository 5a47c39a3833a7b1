"""``tradeloop backup`` and ``tradeloop restore-drill``."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tradeloop.cli.errors import handled_errors


def backup(
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Snapshot the database (SQLite online backup API / pg_dump of one exported
    snapshot), the model versions, the reports and the paper and live accounts into
    backups/snapshot-<UTC time>/ with a checksum manifest; then apply retention
    (backup.daily_keep newest, backup.weekly_keep weekly beyond them).

    Example: tradeloop backup --json

    Exit codes: 0 snapshot written, 2 it could not be (nothing half-written is left).
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.monitor.backup_metrics import write_backup_metrics
    from tradeloop.settings import load_settings
    from tradeloop.usecases.backup import create_backup

    with handled_errors():
        app = build_app(load_settings(), config)
        snapshot = create_backup(app.database_snapshots(), app.settings.home, app.config.backup)
        app.audit(
            "backup",
            snapshot.path.name,
            {"files": snapshot.files, "bytes": snapshot.bytes, "pruned": list(snapshot.pruned)},
            getpass.getuser(),
        )
        write_backup_metrics(
            app.settings.home / "metrics" / "backup.prom",
            last_backup_ns=snapshot.created_ns,
            backup_bytes=snapshot.bytes,
        )
    summary = {
        "snapshot": str(snapshot.path),
        "files": snapshot.files,
        "bytes": snapshot.bytes,
        "rows": sum(snapshot.row_counts.values()),
        "pruned": list(snapshot.pruned),
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    Console(highlight=False).print(
        f"backup {snapshot.path}: {snapshot.files} files, {snapshot.bytes / 1e6:.1f} MB, "
        f"{summary['rows']} rows" + (f"; pruned {len(snapshot.pruned)}" if snapshot.pruned else "")
    )


def restore_drill(
    snapshot: Annotated[
        Path | None, typer.Option(help="snapshot folder (default: the newest)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Prove the newest snapshot restores: manifest intact, every file's checksum, the
    database restored to a scratch place (integrity check, row counts as recorded), the
    active model loaded from the snapshot and scored on its parity probe. Nothing live is
    touched.

    Example: tradeloop restore-drill --json

    Exit codes: 0 the snapshot restores, 1 it does not (each problem listed; audit_event
    restore_drill_failed, tradeloop_restore_drill_ok 0 in var/metrics/backup.prom), 2 bad
    input.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.monitor.backup_metrics import write_backup_metrics
    from tradeloop.settings import load_settings
    from tradeloop.usecases.backup import restore_drill as drill

    with handled_errors():
        app = build_app(load_settings(), config)
        result = drill(
            app.database_snapshots(),
            app.settings.home,
            app.config.backup,
            model_name=app.config.scorer.model_name,
            snapshot=snapshot,
        )
        kind = "restore_drill_ok" if result.ok else "restore_drill_failed"
        subject = result.snapshot.name if result.snapshot else "none"
        app.audit(
            kind, subject, {"problems": result.problems, "checks": result.checks}, getpass.getuser()
        )
        write_backup_metrics(
            app.settings.home / "metrics" / "backup.prom",
            drill_ok=result.ok,
            drill_ns=time.time_ns(),
        )
        if not result.ok:
            _alert(app, result)
    if as_json:
        payload = {
            "ok": result.ok,
            "snapshot": str(result.snapshot),
            "problems": result.problems,
            "checks": result.checks,
        }
        print(json.dumps(payload, indent=2))
    else:
        console = Console(highlight=False)
        verdict = "[green]restores[/]" if result.ok else "[bold red]DOES NOT RESTORE[/]"
        console.print(f"restore drill of {result.snapshot}: {verdict}")
        for line in result.checks:
            console.print(f"  ok: {line}")
        for line in result.problems:
            console.print(f"  [red]problem[/]: {line}")
    if not result.ok:
        raise typer.Exit(1)


def _alert(app: Any, result: Any) -> None:
    """A failed drill is an alert: through notify.channels when configured."""
    from tradeloop.usecases.notifications import send_report

    text = f"Restore drill of {result.snapshot} FAILED:\n" + "\n".join(
        f"- {problem}" for problem in result.problems
    )
    try:
        send_report(app.notifier(), "tradeloop ALERT: restore drill failed", text, "crit")
    except Exception as exc:  # the exit code and the metric still say it
        Console(stderr=True).print(f"notify: alert not sent ({exc})")


def restore(
    snapshot: Annotated[Path, typer.Option(help="snapshot folder to put back")],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="yes: replace the live state with the snapshot")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
) -> None:
    """Emergency: replace the database, models, reports and accounts with a snapshot.
    Runs the restore drill on it first and changes nothing if it fails; moves what is
    there now to var/pre-restore-<time>/ (PostgreSQL: a dump there) so the restore can be
    undone; refuses while the stack, the scheduler, a daemon or a retrain runs.

    Example: tradeloop restore --snapshot var/backups/snapshot-20261122T023000Z --confirm

    Exit codes: 0 restored, 2 refused (no --confirm, something running, a bad snapshot).
    """
    import contextlib

    from tradeloop.bootstrap.app import build_app
    from tradeloop.core.errors import ConfigError, TradingRefused
    from tradeloop.core.single_instance import exclusive
    from tradeloop.settings import load_settings
    from tradeloop.usecases.backup import restore_snapshot

    with handled_errors():
        if not confirm:
            raise ConfigError("restore replaces the live state: add --confirm")
        app = build_app(load_settings(), config)
        home = app.settings.home
        if app.settings.trading_mode_path.exists():
            raise TradingRefused(
                f"a trading process is running ({app.settings.trading_mode_path}): stop it first"
            )
        with contextlib.ExitStack() as held:
            for name, what in (
                ("run/up.lock", "tradeloop up"),
                ("scheduler.lock", "scheduler"),
                ("retrain.lock", "retrain cycle"),
            ):
                held.enter_context(exclusive(home / name, what))
            done = restore_snapshot(
                app.database_snapshots(),
                home,
                app.config.backup,
                snapshot.resolve(),
                model_name=app.config.scorer.model_name,
            )
        restored = build_app(load_settings(), config)
        detail = {"aside": str(done.aside), "rows": done.rows}
        restored.audit("restore", done.snapshot.name, detail, getpass.getuser())
    Console(highlight=False).print(
        f"restored {done.snapshot} ({done.rows} rows); the previous state is in {done.aside}"
    )
