"""The database a command works on: its URL from the settings, opened read-only or
migrated to this version's schema (said once when a write command migrates it)."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from tradeloop.core.errors import ConfigError
from tradeloop.settings import Settings
from tradeloop.store.sql.engine import open_engine, sqlite_url
from tradeloop.store.sql.engine import redact_url as redact_url  # the faces show URLs
from tradeloop.store.sql.migrate import HEAD_REVISION, current_revision, upgrade

log = logging.getLogger("tradeloop.bootstrap")


def database_url(settings: Settings) -> str:
    if settings.db_url is not None:
        return settings.db_url.get_secret_value()
    return sqlite_url(settings.db_path)


def open_database(settings: Settings, read_only: bool = False) -> Engine:
    """Open the database and apply migrations (idempotent). ``read_only``: change nothing,
    neither create the SQLite file nor migrate; ConfigError when there is no tradeloop
    schema at head to read (a command that only reads must not write into a database)."""
    url = database_url(settings)
    if read_only and settings.db_url is None and not settings.db_path.exists():
        raise ConfigError(
            f"no database yet at {settings.db_path}: nothing to read. Fix: check "
            "TRADELOOP_HOME, or create it with `tradeloop db upgrade` (or any ingest)"
        )
    engine = open_engine(url)
    if not read_only:
        before = current_revision(engine)
        if before != HEAD_REVISION:
            upgrade(engine)
            # Said once, when it happens: a write command just changed this database.
            found = "an empty database" if before is None else f"revision {before}"
            log.warning(
                "database %s migrated from %s to revision %s",
                redact_url(url),
                found,
                HEAD_REVISION,
            )
        return engine
    current, head = current_revision(engine), HEAD_REVISION
    if current != head:
        engine.dispose()
        found = "no tradeloop schema" if current is None else f"schema revision {current}"
        raise ConfigError(
            f"database {redact_url(url)} holds {found} (this tradeloop reads {head}); a "
            "read-only command changes nothing. Fix: point TRADELOOP_DB_URL at tradeloop's "
            "database, or run `tradeloop db upgrade` first"
        )
    return engine


def upgrade_database(settings: Settings) -> tuple[str, str]:
    """Apply every pending migration (safe to repeat): (the redacted URL, the revision)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    url = database_url(settings)
    return redact_url(url), upgrade(open_engine(url))


def database_revisions(settings: Settings) -> tuple[str, str | None, str] | None:
    """(the redacted URL, its revision, the newest this version ships); None while the
    embedded database does not exist yet. Only reads: nothing is created."""
    url = database_url(settings)
    if settings.db_url is None and not settings.db_path.exists():
        return None
    return redact_url(url), current_revision(open_engine(url)), HEAD_REVISION
