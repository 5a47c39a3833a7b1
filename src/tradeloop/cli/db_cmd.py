"""``tradeloop db``: migrate and inspect the database."""

from __future__ import annotations

import typer

from tradeloop.cli.errors import handled_errors

app = typer.Typer(
    help="Database migrations.\n\nExamples:\n\n  tradeloop db upgrade\n\n"
    "  TRADELOOP_DB_URL=postgresql://postgres@127.0.0.1/test tradeloop db status",
    no_args_is_help=True,
)


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration (safe to repeat)."""
    from tradeloop.bootstrap import upgrade_database
    from tradeloop.settings import load_settings

    with handled_errors():
        url, revision = upgrade_database(load_settings())
    print(f"{url}: at revision {revision}")


@app.command("status")
def status() -> None:
    """Show the database's revision and the newest one this version ships."""
    from tradeloop.bootstrap import database_revisions, database_url, redact_url
    from tradeloop.settings import load_settings

    with handled_errors():
        settings = load_settings()
        revisions = database_revisions(settings)
        if revisions is None:
            url = redact_url(database_url(settings))
            print(f"{url}: no database yet (tradeloop db upgrade creates it)")
            raise typer.Exit(1)
    url, current, head = revisions
    state = "up to date" if current == head else "needs `tradeloop db upgrade`"
    print(f"{url}: revision {current or 'none'} (head {head}) - {state}")
    if current != head:
        raise typer.Exit(1)
