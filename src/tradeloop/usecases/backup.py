"""``tradeloop backup`` and ``tradeloop restore-drill``.

A snapshot is a folder ``snapshot-YYYYmmddTHHMMSSZ`` holding a consistent copy of the
database (``store/sql/snapshot.py``), the model versions, the reports and the paper and
live accounts' files, plus ``manifest.json`` (every file's sha256 and size, the database's
row counts) and ``manifest.sha256``. It is built under a hidden name and renamed when
complete, so a crash mid-backup leaves no snapshot that looks whole. Retention keeps the
newest ``daily_keep`` snapshots and, beyond them, the newest of each ISO week up to
``weekly_keep``.

A restore drill takes the newest snapshot and proves it can be used: manifest intact,
every file present with its checksum, the database restored to a scratch place with a
clean integrity check and the manifest's row counts, and the active model loaded from
the snapshot's files and scored on its parity probe. Any failure is loud: a non-zero
exit, an ``audit_event``, ``var/metrics/backup.prom``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tradeloop.core.errors import DataError
from tradeloop.core.single_instance import exclusive
from tradeloop.core.snapshots import DatabaseDump, RestoreCheck
from tradeloop.core.time import iso_from_ns
from tradeloop.ops.config import BackupConfig

PREFIX = "snapshot-"
MANIFEST = "manifest.json"
LOCK = ".backup.lock"
DELETING = ".deleting-"
FORMAT = 1
# Runtime folders that belong in a snapshot (the lake and raw payloads are rebuilt from
# the database and the providers; logs are not state).
TREES = ("models", "reports", "paper", "live")


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    created_ns: int
    files: int
    bytes: int
    row_counts: dict[str, int]
    pruned: tuple[str, ...] = ()


@dataclass(slots=True)
class DrillResult:
    snapshot: Path | None
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.snapshot is not None and not self.problems


class DatabaseSnapshots(Protocol):
    """The database's part of backups (``store.sql.snapshot.SqlDatabaseSnapshots``)."""

    def dump(self, target_dir: Path) -> DatabaseDump:
        """Write a consistent dump of the live database into ``target_dir``."""
        ...

    def check(self, kind: str, dump: Path, scratch_dir: Path) -> RestoreCheck:
        """Restore ``dump`` somewhere disposable and say what it holds."""
        ...

    def put_back(self, kind: str, dump: Path, aside: Path) -> None:
        """Replace the live database with ``dump``, the current one moved to ``aside``."""
        ...


def backup_root(home: Path, config: BackupConfig) -> Path:
    return Path(config.root).expanduser() if config.root else home / "backups"


def create_backup(
    database: DatabaseSnapshots, home: Path, config: BackupConfig, now_ns: int | None = None
) -> Snapshot:
    now_ns = now_ns or time.time_ns()
    root = backup_root(home, config)
    root.mkdir(parents=True, exist_ok=True)
    name = PREFIX + datetime.fromtimestamp(now_ns / 1e9, UTC).strftime("%Y%m%dT%H%M%SZ")
    final = root / name
    if final.exists():
        raise DataError(f"backup: {final} exists already (two backups in one second?)")
    with exclusive(root / LOCK, "backup"):
        # One backup at a time: any staging copy or half-deleted snapshot left now is from
        # a backup or a prune that was killed, and goes before this one starts.
        _remove_leftovers(root)
        return _create_locked(database, home, config, now_ns, root, name, final)


def _create_locked(
    database: DatabaseSnapshots,
    home: Path,
    config: BackupConfig,
    now_ns: int,
    root: Path,
    name: str,
    final: Path,
) -> Snapshot:
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        dump = database.dump(staging)
        for tree in TREES:
            source = home / tree
            if source.is_dir():
                shutil.copytree(source, staging / "files" / tree, ignore=_ignore_locks)
        files = {
            path.relative_to(staging).as_posix(): _digest(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": FORMAT,
            "created": iso_from_ns(now_ns),
            "created_ns": now_ns,
            "database": {
                "kind": dump.kind,
                "file": dump.filename,
                "row_counts": dump.row_counts,
            },
            "files": files,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True)
        (staging / MANIFEST).write_text(text)
        (staging / "manifest.sha256").write_text(hashlib.sha256(text.encode()).hexdigest())
        _fsync_tree(staging)
        os.replace(staging, final)  # whole or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pruned = prune(root, config)
    return Snapshot(
        path=final,
        created_ns=now_ns,
        files=len(files),
        bytes=sum(int(entry["bytes"]) for entry in files.values()),
        row_counts=dump.row_counts,
        pruned=tuple(pruned),
    )


def _ignore_locks(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(".lock") or n.startswith(".staging")]


def _digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    descriptor = os.open(root, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def snapshots(root: Path) -> list[Path]:
    """Complete snapshots, oldest first (hidden staging folders are not snapshots)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def prune(root: Path, config: BackupConfig) -> list[str]:
    """Keep the newest ``daily_keep`` snapshots and, older than those, the newest one of
    each ISO week, ``weekly_keep`` weeks at most; delete the rest (and stale staging)."""
    every = snapshots(root)
    keep = set(every[-config.daily_keep :])
    weeks: dict[tuple[int, int], Path] = {}
    for path in reversed(every[: -config.daily_keep] if len(every) > config.daily_keep else []):
        week = _stamp(path).isocalendar()[:2]
        if week not in weeks and len(weeks) < config.weekly_keep:
            weeks[week] = path
    keep |= set(weeks.values())
    removed = []
    for path in every:
        if path not in keep:
            # Hidden first (one atomic rename), deleted after: a kill mid-delete leaves a
            # hidden leftover that the next backup removes, never a half snapshot in view.
            doomed = path.with_name(f"{DELETING}{path.name}")
            os.replace(path, doomed)
            shutil.rmtree(doomed)
            removed.append(path.name)
    return removed


def _remove_leftovers(root: Path) -> None:
    for leftover in [*root.glob(f".{PREFIX}*"), *root.glob(f"{DELETING}*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _stamp(path: Path) -> datetime:
    return datetime.strptime(path.name.removeprefix(PREFIX), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


# -- restore drill ------------------------------------------------------------------------


def restore_drill(
    database: DatabaseSnapshots,
    home: Path,
    config: BackupConfig,
    *,
    model_name: str,
    snapshot: Path | None = None,
    now_ns: int | None = None,
    check_age: bool = True,
) -> DrillResult:
    """Prove the newest (or the given) snapshot restores; every problem is listed: files
    missing, changed or not in the manifest, a snapshot older than ``max_age_hours``."""
    every = snapshots(backup_root(home, config))
    chosen = snapshot or (every[-1] if every else None)
    result = DrillResult(chosen)
    if chosen is None:
        result.problems.append(f"no snapshot in {backup_root(home, config)}: run tradeloop backup")
        return result
    manifest = _read_manifest(chosen, result)
    if manifest is None:
        return result
    files: dict[str, dict[str, Any]] = manifest.get("files", {})
    age_hours = ((now_ns or time.time_ns()) - int(manifest.get("created_ns", 0))) / 3.6e12
    if check_age and age_hours > config.max_age_hours:
        result.problems.append(
            f"the snapshot is {age_hours:.0f} h old, more than backup.max_age_hours "
            f"{config.max_age_hours:g}: backups have stopped (check the scheduler's nightly "
            "backup job)"
        )
    listed = {*files, MANIFEST, "manifest.sha256"}
    unlisted = sorted(
        path.relative_to(chosen).as_posix()
        for path in chosen.rglob("*")
        if path.is_file() and path.relative_to(chosen).as_posix() not in listed
    )
    for relative in unlisted[:20]:
        result.problems.append(f"unlisted file {relative}: not in the manifest (added later?)")
    for relative, expected in sorted(files.items()):
        path = chosen / relative
        if not path.is_file():
            result.problems.append(f"missing file {relative} (incomplete snapshot)")
            continue
        actual = _digest(path)
        if actual["bytes"] != expected["bytes"]:
            result.problems.append(
                f"{relative}: {actual['bytes']} bytes, the manifest says {expected['bytes']} "
                "(truncated)"
            )
        elif actual["sha256"] != expected["sha256"]:
            result.problems.append(f"{relative}: checksum differs from the manifest (corrupted)")
    if not result.problems:
        result.checks.append(f"{len(files)} files match their checksums")
    recorded = manifest.get("database", {})
    dump = chosen / str(recorded.get("file", ""))
    if recorded.get("file") not in files:
        result.problems.append("the manifest lists no database file (incomplete snapshot)")
    elif not result.problems:
        aliases = _drill_database(database, recorded, dump, result)
        if not result.problems:
            _drill_model(chosen, aliases.get((model_name, "active")), model_name, result)
    return result


def _read_manifest(chosen: Path, result: DrillResult) -> dict[str, Any] | None:
    try:
        text = (chosen / MANIFEST).read_text()
        recorded = (chosen / "manifest.sha256").read_text().strip()
    except OSError as exc:
        result.problems.append(f"manifest missing or unreadable ({exc}): incomplete snapshot")
        return None
    if hashlib.sha256(text.encode()).hexdigest() != recorded:
        result.problems.append("manifest.json does not match manifest.sha256 (corrupted)")
        return None
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        result.problems.append(f"manifest.json is not JSON ({exc})")
        return None
    if manifest.get("format") != FORMAT:
        result.problems.append(f"manifest format {manifest.get('format')!r}: expected {FORMAT}")
        return None
    return dict(manifest)


def _drill_database(
    snapshots: DatabaseSnapshots,
    database: dict[str, Any],
    dump: Path,
    result: DrillResult,
) -> dict[tuple[str, str], str]:
    with tempfile.TemporaryDirectory(prefix="tradeloop-drill-") as scratch:
        restored = snapshots.check(str(database.get("kind")), dump, Path(scratch))
    counts, problems = restored.counts, restored.problems
    result.problems += [f"database: {p}" for p in problems]
    expected: dict[str, int] = database.get("row_counts", {})
    for table, rows in sorted(expected.items()):
        if counts.get(table) != rows:
            result.problems.append(
                f"database: table {table} has {counts.get(table)} rows restored, manifest {rows}"
            )
    if not problems and counts == expected:
        total = sum(expected.values())
        result.checks.append(
            f"database restored ({database.get('kind')}): integrity ok, {len(expected)} tables, "
            f"{total} rows as recorded"
        )
    return restored.aliases


def _drill_model(chosen: Path, active: str | None, model_name: str, result: DrillResult) -> None:
    """Load the snapshot's active model from its own files and score its parity probe."""
    if active is None:
        result.checks.append(f"no active {model_name} model in the snapshot: nothing to score")
        return
    folder = chosen / "files" / "models" / active
    from tradeloop.features.touch_events import EVENT_SCHEMA
    from tradeloop.registry.registry import read_version_folder
    from tradeloop.serving.model_set import load_model_set

    try:
        files, manifest = read_version_folder(folder)
        models = load_model_set(files, manifest, EVENT_SCHEMA)
    except DataError as exc:
        result.problems.append(f"model {active}: {exc}")
        return
    entries = manifest["models"].values()
    rows = sum(len((e.get("probe") or {}).get("features") or []) for e in entries)
    result.checks.append(
        f"active model {active} loaded from the snapshot; {len(models.models)} models scored "
        f"{rows} probe rows within parity"
    )


# -- restore ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Restored:
    snapshot: Path
    aside: Path
    rows: int


def restore_snapshot(
    database: DatabaseSnapshots,
    home: Path,
    config: BackupConfig,
    snapshot: Path,
    *,
    model_name: str,
    now_ns: int | None = None,
) -> Restored:
    """Put a snapshot back in place of the live state, after proving it restores. What
    was there is moved to ``pre-restore-<time>/`` first (PostgreSQL: dumped there), so a
    restore can itself be undone. The caller makes sure nothing else runs."""
    # An older snapshot may be restored on purpose: its age is no reason to refuse it.
    drill = restore_drill(
        database, home, config, model_name=model_name, snapshot=snapshot, check_age=False
    )
    if not drill.ok:
        raise DataError(
            f"restore: {snapshot} does not restore cleanly, nothing was changed:\n  "
            + "\n  ".join(drill.problems)
        )
    manifest = json.loads((snapshot / MANIFEST).read_text())
    recorded = manifest["database"]
    now_ns = now_ns or time.time_ns()
    aside = home / (
        "pre-restore-" + datetime.fromtimestamp(now_ns / 1e9, UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    aside.mkdir(parents=True)
    database.put_back(recorded["kind"], snapshot / recorded["file"], aside)
    for tree in TREES:
        current = home / tree
        if current.exists():
            os.replace(current, aside / tree)
        saved = snapshot / "files" / tree
        if saved.is_dir():
            shutil.copytree(saved, current)
    return Restored(snapshot, aside, sum(int(v) for v in recorded["row_counts"].values()))
