"""``tradeloop halt | resume | close-all``: the operator's hands on the order path."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError

# halt and resume read no config file, so a broken one never stands in their way; the
# option stays so that scripts written for earlier versions keep working.
UnreadConfig = Annotated[
    Path | None, typer.Option("--config", hidden=True, help="ignored: nothing here reads it")
]


def halt(
    reason: Annotated[str, typer.Option(help="why trading stops (logged and audited)")],
    config: UnreadConfig = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Stop new orders in every mode now: creates var/KILL_SWITCH (checked on every order
    and on every bar while orders rest, which are then canceled), records an audit_event and
    a line in var/governance_halt.log. Data collection continues.

    Example: tradeloop halt --reason "feed gap on SPY"

    Exit codes: 0 halted, 2 no reason given.
    """
    from tradeloop.bootstrap.control import open_control
    from tradeloop.settings import load_settings
    from tradeloop.usecases.trading_control import halt as engage

    with handled_errors():
        app = open_control(load_settings())
        switch = app.kill_switch()
        engage(
            switch,
            app.audit_trail(),
            app.settings.governance_halt_log,
            reason,
            getpass.getuser(),
            time.time_ns(),
        )
    if as_json:
        print(json.dumps({"halted": True, "kill_switch": str(switch.path), "reason": reason}))
        return
    Console().print(f"HALTED: {switch.path} created; no new order passes. Resume: tradeloop resume")


def resume(
    config: UnreadConfig = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show why trading was halted and the paper accounts' risk state, then remove
    var/KILL_SWITCH (audited, logged). Accounts put in REDUCING by close-all go ACTIVE.

    Example: tradeloop resume

    Exit codes: 0 resumed (or nothing was halted).
    """
    from tradeloop.bootstrap.control import open_control
    from tradeloop.domain.enums import TradingState
    from tradeloop.risk.gate import JsonRiskStateStore
    from tradeloop.settings import load_settings
    from tradeloop.usecases.trading_control import resume as release

    with handled_errors():
        app = open_control(load_settings())
        switch = app.kill_switch()
        accounts, changed = {}, []
        for state_file in sorted(app.settings.paper_dir.glob("*/risk_state.json")):
            store = JsonRiskStateStore(state_file)
            state = store.load()
            if state is None:
                continue
            accounts[state_file.parent.name] = {
                "trading_state": str(state.trading_state),
                "reason": state.state_reason,
                "daily_halt": state.daily_halt,
                "loss_streak": state.loss_streak,
            }
            if state.trading_state is not TradingState.ACTIVE:
                state.trading_state, state.state_reason = TradingState.ACTIVE, ""
                store.save(state)
                changed.append(state_file.parent.name)
        was = release(
            switch,
            app.audit_trail(),
            app.settings.governance_halt_log,
            getpass.getuser(),
            time.time_ns(),
        )
    if as_json:
        payload = {"kill_switch_was": was, "accounts_before": accounts, "set_active": changed}
        print(json.dumps(payload, indent=2))
        return
    console = Console(highlight=False)
    for name, before in accounts.items():
        if name in changed:
            why = f" ({before['reason']})" if before["reason"] else ""
            line = f"{before['trading_state']}{why} -> ACTIVE"
        else:
            line = f"{before['trading_state']}, unchanged"
        if before["daily_halt"]:
            line += "; its daily loss halt stays until the next trading day"
        console.print(f"paper account {name}: {line}", markup=False)
    if was is None:
        console.print("the kill switch was not engaged; nothing to resume")
    else:
        console.print(f"RESUMED: kill switch removed (it said: {was})")


def close_all(
    account: Annotated[str, typer.Option(help="paper account (var/paper/NAME)")] = "main",
    confirm: Annotated[bool, typer.Option("--confirm", help="required: this sends orders")] = False,
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Flatten a paper account: cancel its resting orders and send a market order closing
    each position (filled on the account's next bar), after reconciling it. The account
    goes REDUCING (no new risk) until `tradeloop resume`. Audited and logged.

    Example: tradeloop close-all --account main --confirm

    Exit codes: 0 orders sent, 2 without --confirm, kill switch present, or the account
    refused to reconcile.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.paper_trading import AccountRules, PaperAccount, open_account
    from tradeloop.usecases.strategy_plans import sma_cross_plan
    from tradeloop.usecases.trading_control import close_all as flatten

    with handled_errors():
        if not confirm:
            raise ConfigError("close-all sends orders: add --confirm")
        app = build_app(load_settings(), config)
        paper = PaperAccount.under(app.settings.paper_dir, account)
        if not paper.meta_path.exists():
            raise ConfigError(f"no paper account {account!r} under {app.settings.paper_dir}")
        opened = open_account(
            paper,
            stores=app.paper_stores(),
            strategy=sma_cross_plan({}, 1).strategy,  # not asked: close-all decides alone
            rules=AccountRules(app.config.execution, app.config.risk, app.kill_switch()),
            now_ns=time.time_ns(),
            actor=getpass.getuser(),
        )
        done = flatten(
            opened,
            app.audit_trail(),
            app.settings.governance_halt_log,
            getpass.getuser(),
            time.time_ns(),
        )
    body = {
        "account": account,
        "sent": [f"{o.side} {o.quantity} {o.symbol}" for o in done.sent],
        "denied": done.denied,
        "canceled": done.canceled,
    }
    if as_json:
        print(json.dumps(body, indent=2))
        return
    console = Console()
    for line in body["sent"]:
        console.print(f"sent: {line} (fills on the account's next bar)")
    for line in done.denied:
        console.print(f"[red]denied[/red]: {line}")
    console.print(f"{account}: REDUCING until `tradeloop resume`")
