"""Decisions of the stream stages in SQL (``stream_decision``): written before the input
message is acknowledged, read back when it is delivered again."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from tradeloop.store.sql.tables import stream_decision as table
from tradeloop.store.sql.transaction import transaction


class SqlDecisionLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, stage: str, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(message_ids)
        if not ids:
            return {}
        query = select(table.c.message_id, table.c.decision_json).where(
            table.c.stage == stage, table.c.message_id.in_(ids)
        )
        with self.engine.connect() as connection:
            return {row[0]: json.loads(row[1]) for row in connection.execute(query)}

    def record(
        self, stage: str, decisions: dict[str, dict[str, Any]], now: int
    ) -> dict[str, dict[str, Any]]:
        """Store each decision unless one is stored already; return what is stored (an
        earlier decision wins: another replica decided the message first). One statement
        when nothing was decided before, the usual case."""
        if not decisions:
            return {}
        rows = [
            {
                "stage": stage,
                "message_id": message_id,
                "outcome": str(decision.get("outcome", ""))[:32],
                "decision_json": json.dumps(decision, sort_keys=True, allow_nan=False),
                "recorded_at": now,
            }
            for message_id, decision in decisions.items()
        ]
        with transaction(self.engine) as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = (
                dialect.insert(table)
                .on_conflict_do_nothing(index_elements=["stage", "message_id"])
                .returning(table.c.message_id)
            )
            inserted = set(connection.execute(statement, rows).scalars())
            earlier = [m for m in decisions if m not in inserted]
            stored = {m: decisions[m] for m in inserted}
            if earlier:
                query = select(table.c.message_id, table.c.decision_json).where(
                    table.c.stage == stage, table.c.message_id.in_(earlier)
                )
                stored.update((row[0], json.loads(row[1])) for row in connection.execute(query))
            return stored

    def since(self, stage: str, since_ns: int) -> list[dict[str, Any]]:
        query = (
            select(table.c.decision_json)
            .where(table.c.stage == stage, table.c.recorded_at >= since_ns)
            .order_by(table.c.recorded_at, table.c.message_id)
        )
        with self.engine.connect() as connection:
            return [json.loads(row[0]) for row in connection.execute(query)]

    def outcomes(self, stage: str) -> dict[str, int]:
        """How many messages ``stage`` decided, per outcome."""
        from sqlalchemy import func

        query = (
            select(table.c.outcome, func.count())
            .where(table.c.stage == stage)
            .group_by(table.c.outcome)
        )
        with self.engine.connect() as connection:
            return {str(row[0]): int(row[1]) for row in connection.execute(query)}

    def prune(self, before_ns: int) -> int:
        with transaction(self.engine) as connection:
            return connection.execute(delete(table).where(table.c.recorded_at < before_ns)).rowcount
