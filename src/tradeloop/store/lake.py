"""The lake: events, features and labels as Parquet partitions plus a DuckDB database.

Layout under ``var/lake/``::

    events/symbol=<S>/date=<YYYY-MM-DD>/part.parquet    (S percent-encoded: EURUSD%3DX)
    labels/symbol=<S>/date=<YYYY-MM-DD>/part.parquet    (every column is also in the file)
    manifest.json        row counts, column types, sha256 per file, feature_schema_hash
    tradeloop.duckdb     views events, labels and training_view (events joined to labels)

Export is incremental: a partition is rewritten only when its content changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import polars as pl

from tradeloop.features.touch_events import EVENT_SCHEMA

MANIFEST = "manifest.json"
DATABASE = "tradeloop.duckdb"


def _partitions(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    if frame.is_empty():
        return {}
    keyed = frame.with_columns(pl.col("session").cast(pl.String).alias("_date"))
    parts = {}
    for (symbol, date), part in keyed.group_by(["symbol", "_date"], maintain_order=True):
        # Percent-encode like Hive does: '=X' symbols would otherwise break the layout.
        safe = quote(str(symbol), safe="^-_.")
        parts[f"symbol={safe}/date={date}"] = part.drop("_date").sort(part.columns[0])
    return parts


def _write_table(
    root: Path, name: str, frame: pl.DataFrame, previous: dict[str, Any]
) -> tuple[dict[str, Any], int, int]:
    entries: dict[str, Any] = {}
    written = unchanged = 0
    for key, part in sorted(_partitions(frame).items()):
        content = hashlib.sha256(part.write_csv().encode()).hexdigest()
        relative = f"{name}/{key}/part.parquet"
        old = previous.get(relative)
        path = root / relative
        if old and old["content_sha256"] == content and path.exists():
            entries[relative] = old
            unchanged += 1
            continue
        buffer = io.BytesIO()
        part.write_parquet(buffer)
        data = buffer.getvalue()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        entries[relative] = {
            "rows": part.height,
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_sha256": content,
        }
        written += 1
    return entries, written, unchanged


def export_lake(root: Path, events: pl.DataFrame, labels: pl.DataFrame) -> dict[str, Any]:
    """Write changed partitions, the manifest and the DuckDB views; return a summary."""
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    previous = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    old_files = {
        **previous.get("events", {}).get("files", {}),
        **previous.get("labels", {}).get("files", {}),
    }
    if not labels.is_empty() and not events.is_empty():
        labels = labels.join(events.select("event_id", "symbol", "session"), on="event_id")
    event_files, written_e, same_e = _write_table(root, "events", events, old_files)
    label_files, written_l, same_l = _write_table(root, "labels", labels, old_files)
    manifest = {
        "version": 1,
        "feature_version": EVENT_SCHEMA.version,
        "feature_schema_hash": EVENT_SCHEMA.schema_hash,
        "ts_exported": time.time_ns(),
        "events": {"rows": events.height, "schema": _schema(events), "files": event_files},
        "labels": {"rows": labels.height, "schema": _schema(labels), "files": label_files},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    database = _build_duckdb(root, bool(event_files), bool(label_files))
    return {
        "events": events.height,
        "labels": labels.height,
        "partitions_written": written_e + written_l,
        "partitions_unchanged": same_e + same_l,
        "manifest": str(manifest_path),
        "duckdb": str(database),
    }


def _schema(frame: pl.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.schema.items()}


def _build_duckdb(root: Path, has_events: bool, has_labels: bool) -> Path:
    database = root / DATABASE
    connection = duckdb.connect(str(database))
    try:
        for table, present in (("events", has_events), ("labels", has_labels)):
            if not present:
                continue
            # A path is not a bindable parameter in DDL: quote it as an SQL string literal.
            pattern = str((root / table).resolve() / "**" / "*.parquet").replace("'", "''")
            connection.execute(
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet("  # noqa: S608
                f"'{pattern}', hive_partitioning = false, union_by_name = true)"
            )
        if has_events and has_labels:
            connection.execute(
                "CREATE OR REPLACE VIEW training_view AS SELECT e.*, l.horizon_bars, "
                "l.return_bps, l.mfe_bps, l.mae_bps, l.label, l.hit_target, l.hit_stop, "
                "l.bars_to_barrier, l.ts_matured FROM events e JOIN labels l USING (event_id)"
            )
    finally:
        connection.close()
    return database


def check_lake(root: Path) -> list[str]:
    """Every problem found: missing or altered files, schema drift, a foreign schema hash."""
    manifest_path = root / MANIFEST
    if not manifest_path.exists():
        return [f"{manifest_path}: no manifest; run tradeloop export"]
    manifest = json.loads(manifest_path.read_text())
    problems = []
    if manifest.get("feature_schema_hash") != EVENT_SCHEMA.schema_hash:
        problems.append(
            f"feature_schema_hash {str(manifest.get('feature_schema_hash'))[:12]}… differs from "
            f"the running code's {EVENT_SCHEMA.schema_hash[:12]}…; re-export"
        )
    for table in ("events", "labels"):
        section = manifest.get(table, {})
        for relative, entry in section.get("files", {}).items():
            path = root / relative
            if not path.exists():
                problems.append(f"{relative}: missing")
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != entry["sha256"]:
                problems.append(f"{relative}: checksum mismatch (altered or corrupt)")
                continue
            frame = pl.read_parquet(path)
            if frame.height != entry["rows"]:
                problems.append(f"{relative}: {frame.height} rows, manifest says {entry['rows']}")
            if _schema(frame) != section["schema"]:
                problems.append(f"{relative}: schema differs from the manifest")
    return problems


def read_training_view(root: Path) -> pl.DataFrame:
    """The lake's ``training_view`` (events, features and labels per horizon)."""
    database = root / DATABASE
    if not database.exists():
        raise FileNotFoundError(f"{database}: no lake yet; run tradeloop export")
    connection = duckdb.connect(str(database), read_only=True)
    try:
        tables = {row[0] for row in connection.sql("SHOW TABLES").fetchall()}
        if "training_view" not in tables:
            raise FileNotFoundError(
                f"{database}: no training_view (no labelled events); run tradeloop labels "
                "build, then tradeloop export"
            )
        frame: pl.DataFrame = connection.sql(
            "SELECT * FROM training_view ORDER BY ts_event, event_id"
        ).pl()
        return frame
    finally:
        connection.close()
