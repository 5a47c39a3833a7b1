"""Writing predictions to ``prediction_log``, idempotent by its natural key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tradeloop.store.sql.tables import prediction_log
from tradeloop.store.sql.upsert import upsert

PREDICTION_KEY = ("event_id", "model_version_id", "target", "horizon", "is_shadow")


def write_predictions(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update ``rows`` in one transaction; return how many."""
    if not rows:
        return 0
    # A batch may score one event twice (a retried request): keep the last, per key.
    unique = {tuple(row[k] for k in PREDICTION_KEY): row for row in rows}
    with engine.begin() as connection:
        return upsert(connection, prediction_log, list(unique.values()), list(PREDICTION_KEY))
