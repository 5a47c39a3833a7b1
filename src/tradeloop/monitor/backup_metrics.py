"""Backups and restore drills in Prometheus text format (``var/metrics/backup.prom``)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile


def write_backup_metrics(
    path: Path,
    *,
    last_backup_ns: int | None = None,
    backup_bytes: int | None = None,
    drill_ok: bool | None = None,
    drill_ns: int | None = None,
) -> Path:
    """Update the named gauges, keeping the others' last values (two commands share it)."""
    values = _read(path)
    if last_backup_ns is not None:
        values["tradeloop_backup_last_success_timestamp_seconds"] = last_backup_ns / 1e9
    if backup_bytes is not None:
        values["tradeloop_backup_bytes"] = float(backup_bytes)
    if drill_ok is not None:
        values["tradeloop_restore_drill_ok"] = 1.0 if drill_ok else 0.0
    if drill_ns is not None:
        values["tradeloop_restore_drill_timestamp_seconds"] = drill_ns / 1e9
    registry = CollectorRegistry()
    for name, value in sorted(values.items()):
        Gauge(name, name.replace("_", " "), registry=registry).set(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path


def _read(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                continue
    return values
