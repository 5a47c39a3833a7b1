"""Backups and restore drills on SQLite and the CI's PostgreSQL: consistent under writes,
and every way a snapshot can be broken makes the drill fail loudly."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from tradeloop.ops.config import BackupConfig
from tradeloop.store.sql.snapshot import SqlDatabaseSnapshots
from tradeloop.store.sql.tables import audit_event
from tradeloop.testing.waiting import wait_until
from tradeloop.usecases.backup import create_backup, prune, restore_drill, snapshots

CONFIG = BackupConfig()


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "var"
    (home / "reports").mkdir(parents=True)
    (home / "reports" / "ml_daily_latest.md").write_text("# report\n")
    (home / "paper" / "main").mkdir(parents=True)
    (home / "paper" / "main" / "account.json").write_text('{"initial_cash": "100000"}')
    return home


def _write_events(engine: Engine, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        with engine.begin() as connection:
            connection.execute(
                insert(audit_event),
                [
                    {
                        "kind": "load",
                        "subject": f"s{n}-{i}",
                        "payload_json": "{}",
                        "actor": "t",
                        "ts_event": n,
                    }
                    for i in range(20)
                ],
            )
        n += 1


def _events(engine: Engine) -> int:
    from sqlalchemy import func, select

    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(audit_event)).scalar_one())


def test_backup_when_database_is_written_meanwhile_then_snapshot_consistent_and_drill_passes(
    engine: Engine, tmp_path: Path
) -> None:
    home = _home(tmp_path)
    stop = threading.Event()
    writer = threading.Thread(target=_write_events, args=(engine, stop))
    writer.start()
    try:
        wait_until(lambda: _events(engine) >= 100, "100 events written meanwhile", 30)
        snapshot = create_backup(SqlDatabaseSnapshots(engine), home, CONFIG)
    finally:
        stop.set()
        writer.join()
    assert snapshot.row_counts["audit_event"] > 0
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert "files/paper/main/account.json" in manifest["files"]
    assert "files/reports/ml_daily_latest.md" in manifest["files"]
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="pivot-events")
    assert result.ok, result.problems
    assert any("rows as recorded" in line for line in result.checks)


def _sqlite_snapshot(tmp_path: Path) -> tuple[Engine, Path, Path]:
    from tradeloop.store.sql.engine import open_engine
    from tradeloop.store.sql.migrate import upgrade

    home = _home(tmp_path)
    engine = open_engine(f"sqlite:///{home / 'tradeloop.db'}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(audit_event),
            [
                {"kind": "k", "subject": str(i), "payload_json": "{}", "actor": "t", "ts_event": i}
                for i in range(2000)
            ],
        )
    return engine, home, create_backup(SqlDatabaseSnapshots(engine), home, CONFIG).path


def test_drill_when_database_file_truncated_then_fails(tmp_path: Path) -> None:
    engine, home, snapshot = _sqlite_snapshot(tmp_path)
    dump = snapshot / "tradeloop.db"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m")
    assert not result.ok
    assert any("truncated" in p for p in result.problems)


def test_drill_when_a_byte_is_corrupted_then_fails(tmp_path: Path) -> None:
    engine, home, snapshot = _sqlite_snapshot(tmp_path)
    dump = snapshot / "tradeloop.db"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m")
    assert not result.ok
    assert any("corrupted" in p for p in result.problems)


def test_drill_when_database_damaged_and_manifest_rewritten_then_integrity_fails(
    tmp_path: Path,
) -> None:
    """Checksums recomputed by whoever damaged it: the restore itself must still fail."""
    import hashlib

    engine, home, snapshot = _sqlite_snapshot(tmp_path)
    dump = snapshot / "tradeloop.db"
    data = bytearray(dump.read_bytes())
    data[4096 : 4096 + 512] = b"\x00" * 512  # wipe part of a b-tree page
    dump.write_bytes(bytes(data))
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["files"]["tradeloop.db"]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    text = json.dumps(manifest, indent=2, sort_keys=True)
    (snapshot / "manifest.json").write_text(text)
    (snapshot / "manifest.sha256").write_text(hashlib.sha256(text.encode()).hexdigest())
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m")
    assert not result.ok
    assert any(p.startswith("database:") for p in result.problems), result.problems


@pytest.mark.parametrize(
    "damage",
    ["file", "manifest", "manifest_checksum", "database_entry"],
)
def test_drill_when_snapshot_incomplete_then_fails(tmp_path: Path, damage: str) -> None:
    engine, home, snapshot = _sqlite_snapshot(tmp_path)
    if damage == "file":
        (snapshot / "files" / "paper" / "main" / "account.json").unlink()
    elif damage == "manifest":
        (snapshot / "manifest.json").unlink()
    elif damage == "manifest_checksum":
        (snapshot / "manifest.json").write_text(
            (snapshot / "manifest.json").read_text().replace('"format": 1', '"format": 1 ')
        )
    else:
        (snapshot / "tradeloop.db").unlink()
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m")
    assert not result.ok
    assert result.problems


def test_drill_when_no_snapshot_or_only_a_crashed_one_then_fails(tmp_path: Path) -> None:
    from tradeloop.store.sql.engine import open_engine

    home = _home(tmp_path)
    (home / "backups" / ".snapshot-20261120T000000Z-abc").mkdir(parents=True)  # died mid-way
    engine = open_engine(f"sqlite:///{home / 'tradeloop.db'}")
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m")
    assert not result.ok
    assert "no snapshot" in result.problems[0]


def test_retention_keeps_newest_dailies_and_one_per_week_beyond(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    days = [f"202611{d:02d}" for d in range(1, 23)]  # 22 daily snapshots, Nov 1-22
    for day in days:
        (root / f"snapshot-{day}T023000Z").mkdir(parents=True)
    removed = prune(root, BackupConfig(daily_keep=7, weekly_keep=2))
    kept = [p.name[9:17] for p in snapshots(root)]
    assert kept[-7:] == days[-7:]  # Nov 16-22
    # beyond them: newest of ISO week 46 (Nov 9-15) -> 15th, week 45 (Nov 2-8) -> 8th
    assert kept[:-7] == ["20261108", "20261115"]
    assert len(removed) == 22 - 9


def test_cli_restore_drill_when_broken_then_exit_1_and_recorded(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    env["TRADELOOP_HOME"] = str(tmp_path / "var")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tradeloop.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    made = cli("backup", "--json")
    assert made.returncode == 0, made.stderr
    snapshot = Path(json.loads(made.stdout)["snapshot"])
    assert cli("restore-drill").returncode == 0
    (snapshot / "tradeloop.db").write_bytes(b"")
    broken = cli("restore-drill", "--json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["ok"] is False
    metrics = (tmp_path / "var" / "metrics" / "backup.prom").read_text()
    assert "tradeloop_restore_drill_ok 0.0" in metrics
    import sqlite3

    with sqlite3.connect(tmp_path / "var" / "tradeloop.db") as connection:
        kinds = [r[0] for r in connection.execute("SELECT kind FROM audit_event ORDER BY id")]
    assert kinds[-3:] == ["backup", "restore_drill_ok", "restore_drill_failed"]


def test_restore_puts_the_snapshot_back_and_keeps_the_previous_state_aside(
    engine: Engine, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from tradeloop.usecases.backup import restore_snapshot

    home = _home(tmp_path)
    with engine.begin() as connection:
        connection.execute(
            insert(audit_event),
            [
                {
                    "kind": "before",
                    "subject": str(i),
                    "payload_json": "{}",
                    "actor": "t",
                    "ts_event": i,
                }
                for i in range(50)
            ],
        )
    snapshot = create_backup(SqlDatabaseSnapshots(engine), home, CONFIG)
    with engine.begin() as connection:
        connection.execute(
            insert(audit_event),
            [
                {
                    "kind": "after",
                    "subject": str(i),
                    "payload_json": "{}",
                    "actor": "t",
                    "ts_event": i,
                }
                for i in range(30)
            ],
        )
    (home / "paper" / "main" / "cursor.json").write_text("{}")
    done = restore_snapshot(
        SqlDatabaseSnapshots(engine), home, CONFIG, snapshot.path, model_name="m"
    )
    with engine.connect() as connection:
        kinds = dict(
            list(
                connection.execute(
                    select(audit_event.c.kind, func.count()).group_by(audit_event.c.kind)
                )
            )
        )
    assert kinds == {"before": 50}
    assert not (home / "paper" / "main" / "cursor.json").exists()
    assert (done.aside / "paper" / "main" / "cursor.json").exists()
    assert any(done.aside.iterdir())


def test_restore_cli_refuses_without_confirm_while_trading_and_on_a_bad_snapshot(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    home = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_")}
    env["TRADELOOP_HOME"] = str(home)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tradeloop.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    snapshot = json.loads(cli("backup", "--json").stdout)["snapshot"]
    assert cli("restore", "--snapshot", snapshot).returncode == 2  # no --confirm
    (home / "TRADING_MODE").write_text("paper\n")
    refused = cli("restore", "--snapshot", snapshot, "--confirm")
    assert refused.returncode == 2
    assert "trading process is running" in refused.stderr
    (home / "TRADING_MODE").unlink()
    (Path(snapshot) / "tradeloop.db").write_bytes(b"garbage")
    broken = cli("restore", "--snapshot", snapshot, "--confirm")
    assert broken.returncode == 2
    assert "does not restore cleanly" in broken.stderr
    assert not list(home.glob("pre-restore-*"))  # nothing was touched
    fresh = json.loads(cli("backup", "--json").stdout)["snapshot"]
    restored = cli("restore", "--snapshot", fresh, "--confirm")
    assert restored.returncode == 0, restored.stderr
    assert len(list(home.glob("pre-restore-*"))) == 1


def test_drill_when_snapshot_older_than_max_age_then_fails(tmp_path: Path) -> None:
    engine, home, snapshot = _sqlite_snapshot(tmp_path)
    created = json.loads((snapshot / "manifest.json").read_text())["created_ns"]
    fresh = restore_drill(
        SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m", now_ns=created + 3_600 * 10**9
    )
    assert fresh.ok, fresh.problems
    later = created + 50 * 3_600 * 10**9  # no backup for 50 h
    stale = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m", now_ns=later)
    assert not stale.ok
    assert any("50 h old, more than backup.max_age_hours 36" in p for p in stale.problems)


def test_drill_when_snapshot_holds_a_file_not_in_its_manifest_then_fails(tmp_path: Path) -> None:
    engine, home, snapshot = _sqlite_snapshot(tmp_path)
    (snapshot / "files" / "models").mkdir(parents=True, exist_ok=True)
    (snapshot / "files" / "models" / "planted.onnx").write_bytes(b"not from the backup")
    result = restore_drill(SqlDatabaseSnapshots(engine), home, CONFIG, model_name="m")
    assert not result.ok
    assert "unlisted file files/models/planted.onnx: not in the manifest (added later?)" in (
        result.problems
    )


def test_backup_when_a_prune_or_backup_was_killed_then_leftovers_hidden_and_cleaned(
    tmp_path: Path,
) -> None:
    engine, home, first = _sqlite_snapshot(tmp_path)
    root = first.parent
    # What a kill -9 leaves: a prune's half-deleted snapshot (renamed before deletion) and
    # a backup's staging copy.
    half = root / f".deleting-{first.name}"
    (half / "files").mkdir(parents=True)
    staging = root / ".snapshot-20261205T000000Z-abc123"
    (staging / "files").mkdir(parents=True)
    assert snapshots(root) == [first]  # never offered to a drill or a restore
    created = json.loads((first / "manifest.json").read_text())["created_ns"]
    second = create_backup(SqlDatabaseSnapshots(engine), home, CONFIG, now_ns=created + 60 * 10**9)
    assert not half.exists()
    assert not staging.exists()
    assert snapshots(root) == [first, second.path]
