"""Writing predictions to ``prediction_log``: insert-only.

A second score of an event (a retried request, another client) is another row with its
``source``; nothing is ever overwritten, and readers take the first score of each
(event, model, target, horizon, shadow): see ``report_queries.matured_predictions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tradeloop.store.sql.tables import prediction_log


def write_predictions(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` in one transaction; return how many."""
    if not rows:
        return 0
    with engine.begin() as connection:
        connection.execute(prediction_log.insert(), [{"source": "", **row} for row in rows])
    return len(rows)
