"""``tradeloop db``: migrate and inspect the database."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tradeloop.cli.errors import handled_errors

app = typer.Typer(
    help="Database migrations.\n\nExamples:\n\n  tradeloop db upgrade\n\n"
    "  TRADELOOP_DB_URL=postgresql://postgres@127.0.0.1/test tradeloop db status",
    no_args_is_help=True,
)


JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("upgrade")
def upgrade_command(as_json: JsonOption = False) -> None:
    """Apply every pending migration (safe to repeat)."""
    from tradeloop.bootstrap.database import upgrade_database
    from tradeloop.settings import load_settings

    with handled_errors():
        url, revision = upgrade_database(load_settings())
    if as_json:
        print(json.dumps({"url": url, "revision": revision}))
    else:
        print(f"{url}: at revision {revision}")


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Show the database's revision and the newest one this version ships.

    Exit codes: 0 at the newest revision, 1 no database yet or a migration pending.
    """
    from tradeloop.bootstrap.database import database_revisions, database_url, redact_url
    from tradeloop.settings import load_settings

    with handled_errors():
        settings = load_settings()
        revisions = database_revisions(settings)
    if revisions is None:
        url, current, head = redact_url(database_url(settings)), None, None
        state = "no database yet (tradeloop db upgrade creates it)"
    else:
        url, current, head = revisions
        state = "up to date" if current == head else "needs tradeloop db upgrade"
    if as_json:
        payload = {"url": url, "revision": current, "head": head, "up_to_date": current == head}
        print(json.dumps({**payload, "exists": revisions is not None, "state": state}))
    elif revisions is None:
        print(f"{url}: {state}")
    else:
        print(f"{url}: revision {current or 'none'} (head {head}) - {state}")
    if revisions is None or current != head:
        raise typer.Exit(1)
