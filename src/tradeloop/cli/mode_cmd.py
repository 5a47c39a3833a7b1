"""``tradeloop mode status|promote|demote``: each account's mode (backtest -> paper ->
live), the gates between them, and the live ramp-up."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors

app = typer.Typer(help="Account modes: status, promote (through the gates), demote.",
                  no_args_is_help=True)  # fmt: skip

ConfigOption = Annotated[Path | None, typer.Option(help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _criteria_table(title: str, criteria: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("criterion", "value", "threshold", "ok"):
        table.add_column(column)
    for c in criteria:
        mark = "[green]pass[/green]" if c["ok"] else "[red]FAIL[/red]"
        table.add_row(c["name"], c["value"], c["threshold"], mark)
    return table


@app.command("status")
def status(
    account: Annotated[
        list[str] | None, typer.Option(help="account (repeat; default: all)")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Each account's mode and since when; a live account's ramp week, step and limits
    (the weekly reviews due are made now); a paper account's record against the to-live
    gates (the pre-flight runs only on promote).

    Example: tradeloop mode status --account main --json
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.rollout import AppModeEvidence, actor, mode_store
    from tradeloop.settings import load_settings
    from tradeloop.usecases.mode_transition import account_status

    with handled_errors():
        application = build_app(load_settings(), config)
        rows = account_status(mode_store(application), AppModeEvidence(application),
                              application.config.promotion, account or [],
                              application.config.risk, time.time_ns(),
                              actor(application, "ramp"))  # fmt: skip
    body = [_status_dict(r) for r in rows]
    if as_json:
        print(json.dumps({"accounts": body}, indent=2, default=str))
        return
    console = Console()
    if not body:
        console.print("no account has a mode yet: every account starts in backtest "
                      "(tradeloop mode promote --account NAME --to paper)")  # fmt: skip
    for row in body:
        line = f"[bold]{row['account']}[/bold]: {row['mode']} since {row['since']}"
        if row["mode"] == "live":
            line += f", week {row['week']}, ramp step {row['step']}"
        console.print(line)
        if row["limits"]:
            console.print("  limits: " + ", ".join(f"{k}={v}" for k, v in row["limits"].items()))
        for r in row["reviews"]:
            console.print(f"  week {r['week']}: P&L {r['pnl_usd']:,.2f} USD -> {r['outcome']}")
        if row["next_gates"]:
            console.print(_criteria_table(f"{row['account']}: paper -> live", row["next_gates"]))


def _status_dict(row: Any) -> dict[str, Any]:
    from tradeloop.core.time import iso_from_ns

    mode = row.mode
    return {
        "account": mode.account, "mode": mode.mode,
        "since": iso_from_ns(mode.since_ns) if mode.since_ns else None,
        "live_since": iso_from_ns(mode.live_since_ns) if mode.live_since_ns else None,
        "week": row.week, "step": None if row.step is None else row.step + 1,
        "limits": row.limits, "reason": mode.reason, "actor": mode.actor,
        "reviews": [{"week": r.week, "pnl_usd": r.pnl_usd, "outcome": r.outcome,
                     "step": r.step + 1} for r in row.reviews],
        "next_gates": [c.as_dict() for c in row.next_gates],
    }  # fmt: skip


@app.command("promote")
def promote(
    account: Annotated[str, typer.Option(help="the account (var/paper/NAME, var/live/NAME)")],
    to: Annotated[str, typer.Option(help="paper or live (one step up)")],
    agent: Annotated[str, typer.Option(help="--to paper: the agent version or alias")] = "active",
    force: Annotated[bool, typer.Option(help="override failing gates (needs --reason)")] = False,
    reason: Annotated[str, typer.Option(help="why (audited)")] = "",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move an account one mode up once every gate holds. To paper: the agent trained
    >= 100 episodes, its learning curve improved, a checkpoint, held-out return > 0. To
    live: >= 14 days in paper with return > 0, Sharpe > 0.5, drawdown < 15 %, win rate >
    45 %, >= 50 trades all logged, no failure in the window, a simulate dry run in the
    last 24 h, and the pre-flight (services, broker, cash, prediction endpoint, database,
    then a backup). A refusal prints every criterion and changes nothing.

    Examples:

      tradeloop mode promote --account main --to paper --agent active

      tradeloop mode promote --account main --to live

    Exit codes: 0 promoted, 1 a gate failed (nothing changed), 2 bad input.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.rollout import AppModeEvidence, actor, mode_store
    from tradeloop.settings import load_settings
    from tradeloop.usecases import mode_transition

    with handled_errors():
        application = build_app(load_settings(), config)
        desk = mode_transition.ModeDesk(mode_store(application), AppModeEvidence(application),
                                        application.config.promotion)  # fmt: skip
        change = mode_transition.promote(
            desk, account, to,  # type: ignore[arg-type]  # checked by the use case
            time.time_ns(), actor(application), force=force, reason=reason, agent=agent,
        )  # fmt: skip
    body = change.as_dict()
    if as_json:
        print(json.dumps(body, indent=2))
    else:
        console = Console()
        console.print(_criteria_table(f"{account}: {change.from_mode} -> {change.to_mode}",
                                      body["criteria"]))  # fmt: skip
        if change.changed:
            console.print(f"{account} is now in {to} mode" + (" (FORCED)" if change.forced else ""))
        else:
            console.print(f"refused: {account} stays in {change.from_mode} mode (fix what FAILs)")
    if not change.changed:
        raise typer.Exit(1)


@app.command("demote")
def demote(
    account: Annotated[str, typer.Option(help="the account")],
    to: Annotated[str, typer.Option(help="a lower mode: paper or backtest")] = "paper",
    reason: Annotated[str, typer.Option(help="why (audited, notified)")] = "",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Roll an account back to a lower mode at once (live -> paper stops real orders:
    a live run refuses to start, and a running live daemon halts new risk on its next
    tick).

    Example: tradeloop mode demote --account main --to paper --reason "week 2 drawdown"

    Exit codes: 0 demoted, 2 bad input.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.bootstrap.rollout import actor, mode_store
    from tradeloop.settings import load_settings
    from tradeloop.usecases import mode_transition

    with handled_errors():
        application = build_app(load_settings(), config)
        change = mode_transition.demote(mode_store(application), account, to,  # type: ignore[arg-type]
                                        time.time_ns(), actor(application), reason)  # fmt: skip
    if as_json:
        print(json.dumps(change.as_dict(), indent=2))
    else:
        Console().print(f"{account}: {change.from_mode} -> {change.to_mode}")
