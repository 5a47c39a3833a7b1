"""``tradeloop report daily``: the ML health report of a day, and its state."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError

app = typer.Typer(help="Reports.", no_args_is_help=True)

STYLE = {"healthy": "green", "degrading": "yellow", "kill-switch": "bold red"}


@app.command("daily")
def daily(
    day: Annotated[
        str | None, typer.Option("--date", help="day (YYYY-MM-DD UTC, today, yesterday)")
    ] = None,
    notify: Annotated[
        bool, typer.Option("--notify", help="send the report through notify.channels")
    ] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Judge the active model on its matured predictions, and report data health, trading
    and services: var/reports/ml_daily_YYYY-MM-DD.md and ml_daily_latest.md (+ JSON twins
    and PNG plots), figures stored in daily_ml_metrics. The state (healthy, degrading,
    kill-switch) follows the `report` config rules (docs/runbook.md); while the latest
    report says kill-switch, `run` and `daemon` refuse ML signals.

    Examples:

      tradeloop report daily

      tradeloop report daily --date 2026-11-20 --json

      tradeloop report daily --notify

    Exit codes: 0 report written (whatever its state; read it from --json), 1 written but
    --notify delivered it nowhere, 2 bad input (or --notify with no channel configured).
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.reports import daily_report
    from tradeloop.settings import load_settings

    with handled_errors():
        today = datetime.now(UTC).date()
        named = {None: today, "today": today, "yesterday": today - timedelta(days=1)}
        try:
            when = named[day] if day in named else date.fromisoformat(str(day))
        except ValueError:
            raise ConfigError(f"--date {day!r}: use YYYY-MM-DD, today or yesterday") from None
        outcome = daily_report(build_app(load_settings(), config), when, notify)
    report, written, delivery = outcome.report, outcome.written, outcome.delivery
    if as_json:
        from tradeloop.usecases.daily_report import report_json

        payload = {**report_json(report), "files": [str(p) for p in written]}
        if delivery is not None:
            payload["notified"] = {"sent": delivery.sent, "failed": delivery.failed}
        print(json.dumps(payload, indent=2))
    else:
        console = Console(highlight=False)
        console.print(f"ML daily report {when}: [{STYLE[report.state]}]{report.state}[/]")
        for reason in report.verdict.reasons:
            console.print(f"  - {reason}")
        console.print(f"written: {written[0]}")
        if delivery is not None:
            from tradeloop.cli.notify_output import show_delivery as show

            show(delivery, as_json=False)
    if delivery is not None and not delivery.delivered:
        raise typer.Exit(1)
