"""Consistent database snapshots and their verification, for backups and restore drills.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies pages under the
  database's own locking, so a snapshot of a database being written is consistent; a file
  copy of a live WAL database is not, and is never made. Row counts come from the snapshot.
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the row counts are read
  in it and ``pg_dump --snapshot`` dumps exactly that state, so counts and dump agree even
  while the database is written. Restore drills ``pg_restore`` into a scratch database that
  is dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tradeloop.core.errors import DataError
from tradeloop.core.snapshots import DatabaseDump, RestoreCheck
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.tables import metadata

TABLES = tuple(sorted([t.name for t in metadata.sorted_tables] + ["alembic_version"]))


def dump_database(engine: Engine, target_dir: Path, pg_dump: str = "pg_dump") -> DatabaseDump:
    if engine.dialect.name == "sqlite":
        return _dump_sqlite(engine, target_dir)
    if engine.dialect.name == "postgresql":
        return _dump_postgres(engine, target_dir, pg_dump)
    raise DataError(f"backup: no snapshot method for a {engine.dialect.name} database")


def _dump_sqlite(engine: Engine, target_dir: Path) -> DatabaseDump:
    source_path = engine.url.database
    if not source_path:
        raise DataError("backup: an in-memory SQLite database has nothing to snapshot")
    target = target_dir / "tradeloop.db"
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            counts = _sqlite_counts(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return DatabaseDump("sqlite", target.name, counts)


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    return {
        name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in TABLES
        if name in present
    }


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for the command-line tools, the password moved to the environment (a
    password on the command line is readable by every user of the machine)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _dump_postgres(engine: Engine, target_dir: Path, pg_dump: str) -> DatabaseDump:
    target = target_dir / "tradeloop.dump"
    uri, env = _libpq(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            present = set(
                connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                ).scalars()
            )
            counts = {
                name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())  # noqa: S608
                for name in TABLES
                if name in present
            }
            # The snapshot lives as long as this transaction: dump while it is open.
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    uri,
                ],
                env,
                "pg_dump",
            )
    return DatabaseDump("postgresql", target.name, counts)


def check_restored(
    kind: str, dump: Path, scratch_dir: Path, engine: Engine, pg_restore: str = "pg_restore"
) -> RestoreCheck:
    """Restore ``dump`` somewhere disposable and look at it. ``engine`` is the live
    database, used only to create and drop a scratch PostgreSQL database next to it."""
    if kind == "sqlite":
        copy = scratch_dir / "restored.db"
        copy.write_bytes(dump.read_bytes())
        connection = sqlite3.connect(copy)
        try:
            try:
                verdict = [row[0] for row in connection.execute("PRAGMA integrity_check")]
                foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
                counts = _sqlite_counts(connection)
                aliases = _aliases(connection.execute(ALIASES).fetchall(), counts)
            except sqlite3.DatabaseError as exc:
                return RestoreCheck({}, [f"not a readable SQLite database: {exc}"], {})
        finally:
            connection.close()
        problems = [] if verdict == ["ok"] else [f"integrity_check: {'; '.join(verdict[:5])}"]
        problems += [f"foreign key broken: {row}" for row in foreign[:5]]
        return RestoreCheck(counts, problems, aliases)
    if kind == "postgresql":
        return _check_postgres(dump, engine, pg_restore)
    return RestoreCheck({}, [f"unknown database kind {kind!r} in the manifest"], {})


ALIASES = "SELECT name, alias, model_version_id FROM model_aliases"


def _aliases(rows: list[Any], counts: dict[str, int]) -> dict[tuple[str, str], str]:
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows} if "model_aliases" in counts else {}


def _check_postgres(dump: Path, engine: Engine, pg_restore: str) -> RestoreCheck:
    scratch = f"tradeloop_drill_{uuid.uuid4().hex[:12]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    scratch_url = engine.url.set(database=scratch)
    try:
        uri, env = _libpq(scratch_url.render_as_string(hide_password=False))
        try:
            _run(
                [
                    pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    f"--dbname={uri}",
                    str(dump),
                ],
                env,
                "pg_restore",
            )
        except DataError as exc:
            return RestoreCheck({}, [str(exc)], {})
        restored = open_engine(scratch_url.render_as_string(hide_password=False))
        try:
            with restored.connect() as connection:
                present = set(
                    connection.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                    ).scalars()
                )
                counts = {
                    name: int(
                        connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608
                    )
                    for name in TABLES
                    if name in present
                }
                rows = list(connection.execute(text(ALIASES))) if "model_aliases" in present else []
        finally:
            restored.dispose()
        return RestoreCheck(counts, [], _aliases(rows, counts))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, timeout=3600, check=False
        )
    except FileNotFoundError:
        raise DataError(
            f"{what} is not installed (looked for {command[0]!r}); install the PostgreSQL "
            f"client tools or set backup.{what.replace('-', '_')} to its path"
        ) from None
    if done.returncode != 0:
        raise DataError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[:500]}")


def pg_restore_into(engine: Engine, dump: Path, pg_restore: str = "pg_restore") -> None:
    """Replace the database's tradeloop tables with the dump's, in one transaction."""
    uri, env = _libpq(engine.url.render_as_string(hide_password=False))
    engine.dispose()
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={uri}",
            str(dump),
        ],
        env,
        "pg_restore",
    )


class SqlDatabaseSnapshots:
    """The database's part of backups (the ``usecases.backup.DatabaseSnapshots`` port):
    dump it, prove a dump restores, put one back in its place."""

    def __init__(self, engine: Engine, pg_dump: str = "pg_dump", pg_restore: str = "pg_restore"):
        self.engine = engine
        self.pg_dump = pg_dump
        self.pg_restore = pg_restore

    def dump(self, target_dir: Path) -> DatabaseDump:
        return dump_database(self.engine, target_dir, self.pg_dump)

    def check(self, kind: str, dump: Path, scratch_dir: Path) -> RestoreCheck:
        return check_restored(kind, dump, scratch_dir, self.engine, self.pg_restore)

    def put_back(self, kind: str, dump: Path, aside: Path) -> None:
        """Replace the live database with ``dump``; what was there goes to ``aside``
        (SQLite: the files themselves; PostgreSQL: a dump of it)."""
        if kind == "sqlite":
            live = Path(self.engine.url.database or "")
            self.engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                current = Path(f"{live}{suffix}")
                if current.exists():
                    os.replace(current, aside / current.name)
            shutil.copy2(dump, live)
        else:
            dump_database(self.engine, aside, self.pg_dump)
            pg_restore_into(self.engine, dump, self.pg_restore)
