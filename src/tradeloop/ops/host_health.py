"""``tradeloop health``: is this machine fit to run the desk? One line per check, each
``ok`` / ``warn`` / ``crit``; the worst is the verdict (exit 0 / 1 / 2).

Checks: services reachable, disk use, database growth since the last check, component
restarts since the last check (the supervisor's ``var/run/stack.json``), data freshness,
model age, kill switch present. What the previous check saw (database size, restarts)
is kept in ``var/health_state.json`` so the deltas mean "since last time".
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeloop.core.atomic_file import write_atomic
from tradeloop.ops.config import HealthConfig

OK, WARN, CRIT = "ok", "warn", "crit"
RANK = {OK: 0, WARN: 1, CRIT: 2}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str
    detail: str


def worst(checks: list[Check]) -> str:
    return max((c.status for c in checks), key=RANK.__getitem__, default=OK)


def disk_check(path: Path, config: HealthConfig) -> Check:
    usage = shutil.disk_usage(path)
    used = 100.0 * usage.used / usage.total
    status = CRIT if used >= config.disk_crit_pct else WARN if used >= config.disk_warn_pct else OK
    return Check("disk", status, f"{used:.1f}% used, {usage.free / 1e9:.1f} GB free at {path}")


def growth_check(size_bytes: int, previous: int | None, config: HealthConfig) -> Check:
    if previous is None:
        return Check("db_growth", OK, f"database {size_bytes / 1e6:.1f} MB (first check)")
    grown = (size_bytes - previous) / 1e6
    status = OK
    if grown >= config.db_growth_min_mb:
        if grown >= config.db_growth_crit_mb:
            status = CRIT
        elif grown >= config.db_growth_warn_mb:
            status = WARN
    return Check(
        "db_growth", status, f"database {size_bytes / 1e6:.1f} MB, {grown:+.1f} MB since last check"
    )


def restart_check(
    restarts: dict[str, int], previous: dict[str, int], config: HealthConfig
) -> Check:
    if not restarts:
        return Check("restarts", OK, "no supervised stack running (tradeloop up)")
    delta = {name: count - previous.get(name, 0) for name, count in restarts.items()}
    grew = {name: d for name, d in delta.items() if d > 0}
    status = WARN if sum(grew.values()) >= config.restart_warn_delta else OK
    detail = ", ".join(f"{n} +{d}" for n, d in sorted(grew.items())) or "none since last check"
    return Check("restarts", status, f"component restarts: {detail}")


def model_age_check(age_hours: float | None, warn_hours: float, max_hours: float) -> Check:
    if age_hours is None:
        return Check("model_age", WARN, "no active model")
    status = CRIT if age_hours > max_hours else WARN if age_hours > warn_hours else OK
    return Check("model_age", status, f"active model trained on data ending {age_hours:.0f} h ago")


def supervised_restarts(stack_file: Path) -> dict[str, int]:
    try:
        payload = json.loads(stack_file.read_text())
    except (OSError, ValueError):
        return {}
    return {
        str(name): int(component.get("restarts", 0))
        for name, component in payload.get("components", {}).items()
    }


def load_state(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def save_state(path: Path, db_bytes: int, restarts: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        path,
        json.dumps({"db_bytes": db_bytes, "restarts": restarts, "checked_ns": time.time_ns()}),
    )
