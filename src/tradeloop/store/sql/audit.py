"""Append-only operator audit events (``audit_event``)."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine

from tradeloop.store.sql.tables import audit_event
from tradeloop.store.sql.transaction import Target, transaction


def record_audit_event(
    engine: Target, kind: str, subject: str, payload: dict[str, Any], actor: str
) -> None:
    """Append one event; payloads are JSON (callers keep secrets out of them)."""
    with transaction(engine) as connection:
        connection.execute(
            audit_event.insert().values(
                kind=kind,
                subject=subject[:128],
                actor=actor[:64],
                ts_event=time.time_ns(),
                payload_json=json.dumps(payload, sort_keys=True, default=str),
            )
        )


class SqlAuditTrail:
    """``record_audit_event`` as the use cases' ``AuditTrail`` port."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        record_audit_event(self.engine, kind, subject, payload, actor)
