"""Opening the SQL database: SQLite (WAL) by default, PostgreSQL when a URL says so."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from tradeloop.core.errors import StorageBusy, StorageError, StorageUnavailable

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
    # FULL: a committed order, fill or audit row survives a power cut, not only a crash
    # (NORMAL in WAL mode may lose the last commits). Its cost is in docs/benchmarks.md.
    cursor.execute("PRAGMA synchronous=FULL")
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
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageError(
            f"database URL {shown}: {parsed.get_backend_name()} is not supported. Fix: use "
            "postgresql://user@host:5432/db, or unset TRADELOOP_DB_URL for the embedded SQLite."
        )
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise StorageError(
            f"database URL {shown}: unsupported ({exc}). Fix: use sqlite:/// or postgresql://."
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StorageUnavailable(
            f"cannot connect to database {shown}: {reason}. Fix: start the server or correct "
            "TRADELOOP_DB_URL (unset it to use the embedded SQLite)."
        ) from None
    event.listen(engine, "handle_error", _translate_error)
    return engine


def _translate_error(context: Any) -> BaseException | None:
    """A database busy past its timeout, or gone, is a "retry later" (exit 3) naming what
    waited and how long, never a raw driver traceback; other errors pass unchanged."""
    original = context.original_exception
    busy = busy_error(original, str(context.statement or ""))
    if busy is not None:
        return busy
    if context.is_disconnect:
        message = str(original).strip().splitlines()[0] if original else ""
        return StorageUnavailable(f"the database connection was lost ({message}); retry later")
    return None


def busy_error(error: BaseException | None, statement: str) -> StorageBusy | None:
    """The StorageBusy that ``error`` means (a lock held past the busy timeout), else None.
    Also for code that talks to the driver directly (the bulk bar upsert)."""
    message = str(error).strip().splitlines()[0] if error else ""
    if "database is locked" not in message and "lock timeout" not in message:
        return None
    waiting = " ".join(statement.split())[:60] or "a transaction"
    return StorageBusy(
        f"the database stayed locked by another writer past the "
        f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s busy timeout (waiting to run: {waiting}); "
        "nothing of this step was written. Retry later, or stop the other writer "
        "(tradeloop status shows what runs)"
    )


def database_size(engine: Engine) -> int:
    """Bytes the database takes on disk (SQLite: the file and its WAL)."""
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with engine.connect() as connection:
        return int(
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        )
