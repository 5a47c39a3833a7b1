"""``tradeloop notify test``: prove the configured channels deliver."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tradeloop.bootstrap import build_app
from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError
from tradeloop.core.time import iso_from_ns
from tradeloop.settings import load_settings

app = typer.Typer(help="Notifications.", no_args_is_help=True)


@app.command("test")
def send_test(
    text: Annotated[str, typer.Option(help="message text")] = "tradeloop notification test",
    config: Annotated[Path | None, typer.Option(help="config file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Send a test message through notify.channels (and the failover channels if one
    fails). Secrets come from NOTIFY_SMTP_PASSWORD, NOTIFY_WEBHOOK_URL,
    NOTIFY_SLACK_WEBHOOK_URL.

    Example: tradeloop notify test --text "hello from the desk"

    Exit codes: 0 delivered somewhere, 1 delivered nowhere, 2 no channel configured or a
    channel misses what it needs.
    """
    from tradeloop.adapters.notify.channels import Message

    with handled_errors():
        app_ = build_app(load_settings(), config)
        notifier = app_.notifier()
        if not notifier.enabled:
            raise ConfigError(
                "notify.channels is empty: name email, webhook or slack in the config"
            )
        delivery = notifier.send(
            Message(title="tradeloop: test notification", text=text, ts=iso_from_ns(time.time_ns()))
        )
    report(delivery, as_json)
    if not delivery.delivered:
        raise typer.Exit(1)


def report(delivery: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"sent": delivery.sent, "failed": delivery.failed}, indent=2))
        return
    console = Console(highlight=False, stderr=True)
    for name in delivery.sent:
        console.print(f"notify: sent via {name}")
    for name, reason in delivery.failed.items():
        console.print(f"notify: [red]{name} failed[/]: {reason}")


def send_report(app: Any, title: str, text: str, state: str = "") -> Any:
    """Send ``text`` if notifications are configured (None when they are not)."""
    from tradeloop.adapters.notify.channels import Message

    notifier = app.notifier()
    if not notifier.enabled:
        return None
    return notifier.send(
        Message(title=title, text=text, state=state, ts=iso_from_ns(time.time_ns()))
    )
