"""Serving aliases in SQL (``serving_activation``): append-only repoints, each with an
``audit_event`` row in the same transaction."""

from __future__ import annotations

import json

from sqlalchemy import Engine, func, select

from tradeloop.store.sql.tables import audit_event, serving_activation
from tradeloop.store.sql.transaction import transaction


class SqlServingActivations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def activate(
        self, alias: str, serving_id: str, actor: str, reason: str, ts_ns: int
    ) -> str | None:
        with transaction(self.engine) as connection:
            previous = connection.execute(
                select(serving_activation.c.serving_id)
                .where(serving_activation.c.alias == alias)
                .order_by(serving_activation.c.id.desc())
                .limit(1)
            ).scalar()
            connection.execute(
                serving_activation.insert().values(
                    alias=alias,
                    serving_id=serving_id,
                    previous_serving_id=previous,
                    actor=actor[:64],
                    reason=reason,
                    ts_event=ts_ns,
                )
            )
            connection.execute(
                audit_event.insert().values(
                    kind="serving_activated",
                    subject=alias[:128],
                    actor=actor[:64],
                    ts_event=ts_ns,
                    payload_json=json.dumps(
                        {"serving_id": serving_id, "previous": previous, "reason": reason},
                        sort_keys=True,
                    ),
                )
            )
        return previous

    def aliases(self) -> dict[str, str]:
        latest = (
            select(serving_activation.c.alias, func.max(serving_activation.c.id).label("last"))
            .group_by(serving_activation.c.alias)
            .subquery()
        )
        query = select(serving_activation.c.alias, serving_activation.c.serving_id).join(
            latest, serving_activation.c.id == latest.c.last
        )
        with self.engine.connect() as connection:
            return {row.alias: row.serving_id for row in connection.execute(query)}

    def history(self, alias: str) -> list[dict[str, object]]:
        query = (
            select(serving_activation)
            .where(serving_activation.c.alias == alias)
            .order_by(serving_activation.c.id)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]
