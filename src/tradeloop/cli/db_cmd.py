"""``tradeloop db``: migrate and inspect the database."""

from __future__ import annotations

import typer

from tradeloop.bootstrap import database_url
from tradeloop.cli.errors import handled_errors
from tradeloop.settings import load_settings
from tradeloop.store.sql.engine import open_engine, redact_url
from tradeloop.store.sql.migrate import current_revision, head_revision, upgrade

app = typer.Typer(
    help="Database migrations.\n\nExamples:\n\n  tradeloop db upgrade\n\n"
    "  TRADELOOP_DB_URL=postgresql://postgres@127.0.0.1/test tradeloop db status",
    no_args_is_help=True,
)


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration (safe to repeat)."""
    with handled_errors():
        settings = load_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        url = database_url(settings)
        engine = open_engine(url)
        revision = upgrade(engine)
    print(f"{redact_url(url)}: at revision {revision}")


@app.command("status")
def status() -> None:
    """Show the database's revision and the newest one this version ships."""
    with handled_errors():
        settings = load_settings()
        url = database_url(settings)
        if settings.db_url is None and not settings.db_path.exists():
            print(f"{redact_url(url)}: no database yet (tradeloop db upgrade creates it)")
            raise typer.Exit(1)
        engine = open_engine(url)  # only reads the revision: nothing is created
        current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "needs `tradeloop db upgrade`"
    print(f"{redact_url(url)}: revision {current or 'none'} (head {head}) - {state}")
    if current != head:
        raise typer.Exit(1)
