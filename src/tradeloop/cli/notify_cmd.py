"""``tradeloop notify test``: prove the configured channels deliver."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradeloop.cli.errors import handled_errors
from tradeloop.cli.notify_output import show_delivery
from tradeloop.core.errors import ConfigError

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
    from tradeloop.bootstrap.app import build_app
    from tradeloop.settings import load_settings
    from tradeloop.usecases.notifications import send_report

    with handled_errors():
        app_ = build_app(load_settings(), config)
        delivery = send_report(app_.notifier(), "tradeloop: test notification", text)
        if delivery is None:
            raise ConfigError(
                "notify.channels is empty: name email, webhook or slack in the config"
            )
    show_delivery(delivery, as_json)
    if not delivery.delivered:
        raise typer.Exit(1)
