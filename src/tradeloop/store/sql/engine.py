"""Opening the SQL database: SQLite (WAL) by default, PostgreSQL when a URL says so."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from tradeloop.core.errors import StorageError

SQLITE_BUSY_TIMEOUT_MS = 10_000


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``; safe for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def normalize_url(url: str) -> str:
    """Pin PostgreSQL URLs to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def open_engine(url: str) -> Engine:
    """Create an engine and prove the database answers; StorageError names the URL and fix."""
    url = normalize_url(url)
    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"database URL {shown} cannot be parsed. Fix: set TRADELOOP_DB_URL to e.g. "
            "postgresql://user@127.0.0.1:5432/tradeloop or leave it unset for SQLite."
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    except (NoSuchModuleError, ArgumentError) as exc:
        raise StorageError(
            f"database URL {shown}: unsupported ({exc}). Fix: use sqlite:/// or postgresql://."
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StorageError(
            f"cannot connect to database {shown}: {reason}. Fix: start the server or correct "
            "TRADELOOP_DB_URL (unset it to use the embedded SQLite)."
        ) from None
    return engine
