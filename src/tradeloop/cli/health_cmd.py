"""``tradeloop health``: host and stack checks, exit 0 ok / 1 warn / 2 crit."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors

if TYPE_CHECKING:
    from tradeloop.bootstrap.app import App
    from tradeloop.ops.host_health import Check

STYLE = {"ok": "green", "warn": "yellow", "crit": "bold red"}


def health(
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Check the host and the stack: services reachable, disk use, database growth and
    component restarts since the last check, data freshness, model age, kill switch.
    Thresholds in the `health` config section.

    Examples:

      tradeloop health

      tradeloop health --json | jq .status

    Exit codes: 0 ok, 1 warn, 2 crit (or bad input).
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.ops.host_health import RANK, worst
    from tradeloop.settings import load_settings

    with handled_errors():
        app = build_app(load_settings(), config)
        checks = run_checks(app)
    status = worst(checks)
    if as_json:
        print(
            json.dumps(
                {"status": status, "checks": [dataclasses.asdict(c) for c in checks]}, indent=2
            )
        )
    else:
        table = Table(title=f"tradeloop health: {status}")
        for column in ("check", "status", "detail"):
            table.add_column(column)
        for check in checks:
            table.add_row(check.name, f"[{STYLE[check.status]}]{check.status}[/]", check.detail)
        Console().print(table)
    if RANK[status]:
        raise typer.Exit(RANK[status])


def run_checks(app: App) -> list[Check]:
    from tradeloop.bootstrap.app import collector_config
    from tradeloop.ops import host_health as h
    from tradeloop.ops.host_health import Check
    from tradeloop.ops.service_probe import probe, service_urls
    from tradeloop.risk.kill_switch import KillSwitch
    from tradeloop.usecases.daily_report import stale_series

    config = app.config.health
    home = app.settings.home
    state_path = home / "health_state.json"
    previous = h.load_state(state_path)
    checks = []
    if config.check_services:
        scorer, collector = app.config.scorer, collector_config(app.config)
        api = app.config.api
        urls = service_urls(
            api=(api.host, api.port),
            scorer=(scorer.host, scorer.port),
            collector=(collector.host, collector.port),
        )
        for name, up in probe(urls).items():
            detail = f"{urls[name]} {'answers' if up else 'does not answer'}"
            checks.append(Check(f"service:{name}", h.OK if up else h.WARN, detail))
    checks.append(h.disk_check(home, config))
    size = app.database_bytes()
    checks.append(h.growth_check(size, previous.get("db_bytes"), config))
    restarts = h.supervised_restarts(home / "run" / "stack.json")
    checks.append(h.restart_check(restarts, previous.get("restarts", {}), config))
    now = time.time_ns()
    bars = app.last_bars()
    stale = stale_series(bars, now)
    checks.append(
        h.Check(
            "freshness",
            h.WARN if stale else h.OK,
            f"{len(bars)} series, {len(stale)} stale" + (f": {stale[0]}" if stale else ""),
        )
    )
    registry = app.registry()
    scorer = app.config.scorer
    active = registry.resolve(scorer.model_name, "active")
    age = None
    if active is not None:
        trained_end = int(registry.version(active).manifest.get("trained_end_ns", 0))
        age = max(0.0, (now - trained_end) / 3.6e12)
    checks.append(h.model_age_check(age, scorer.stale_warn_hours, scorer.stale_max_hours))
    killed = KillSwitch(app.settings.kill_switch_path).is_engaged()
    checks.append(
        h.Check(
            "kill_switch",
            h.WARN if killed else h.OK,
            "var/KILL_SWITCH present: no new orders" if killed else "absent",
        )
    )
    h.save_state(state_path, size, restarts)
    return checks
