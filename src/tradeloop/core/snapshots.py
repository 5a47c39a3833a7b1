"""What a database snapshot holds: the values the backup use case and the SQL snapshot
store exchange (``usecases.backup.DatabaseSnapshots``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RestoreCheck:
    """What a restored snapshot holds: row counts, integrity problems (none: sound) and
    its model aliases ``(name, alias) -> version``."""

    counts: dict[str, int]
    problems: list[str]
    aliases: dict[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class DatabaseDump:
    kind: str  # "sqlite" or "postgresql"
    filename: str
    row_counts: dict[str, int]
