"""Dialect-aware "insert or update by natural key" for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    *,
    update: bool = True,
) -> int:
    """Insert ``rows``; on a key conflict update the other columns (or skip when not update)."""
    if not rows:
        return 0
    statement = _statement(connection.dialect.name, table, tuple(key), tuple(rows[0]), update)
    connection.execute(statement, list(rows))
    return len(rows)


@functools.lru_cache(maxsize=256)
def _statement(
    dialect_name: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...], update: bool
) -> Any:
    # Built once per shape: constructing the ON CONFLICT clause costs more than running it.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    if update:
        return statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: statement.excluded[name] for name in columns if name not in key},
        )
    return statement.on_conflict_do_nothing(index_elements=list(key))


def insert_if_absent(
    connection: Connection, table: Table, row: dict[str, Any], key: Sequence[str]
) -> bool:
    """Insert one row unless its key exists; True when it was inserted."""
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values(row)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(table.c[key[0]])
    )
    return connection.execute(statement).first() is not None
