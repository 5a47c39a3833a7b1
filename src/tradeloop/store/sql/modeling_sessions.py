"""Model Studio sessions in SQL: ``modeling_session`` and its committed steps
(``modeling_step_state``); a commit and the clearing of the steps after it are one
transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, delete, select, update

from tradeloop.domain.modeling_session import Session
from tradeloop.store.sql.tables import modeling_session, modeling_step_state
from tradeloop.store.sql.transaction import transaction


class SqlModelingSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, session_id: str, name: str, actor: str, now: int, workspace_id: str = "default"
    ) -> None:
        with transaction(self.engine) as connection:
            connection.execute(
                modeling_session.insert().values(
                    session_id=session_id,
                    name=name,
                    state="open",
                    actor=actor[:64],
                    created_at=now,
                    updated_at=now,
                    workspace_id=workspace_id,
                )
            )

    def get(self, session_id: str) -> Session | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(modeling_session).where(modeling_session.c.session_id == session_id)
            ).first()
            if row is None:
                return None
            steps = {
                r.step: json.loads(r.payload_json)
                for r in connection.execute(
                    select(modeling_step_state).where(
                        modeling_step_state.c.session_id == session_id
                    )
                )
            }
        return Session(row.session_id, row.name, row.state, row.actor, row.created_at,
                       row.updated_at, steps, row.workspace_id)  # fmt: skip

    def recent(self, limit: int = 100, workspace_id: str | None = None) -> list[Session]:
        query = (
            select(modeling_session.c.session_id)
            .order_by(modeling_session.c.created_at.desc())
            .limit(limit)
        )
        if workspace_id is not None:
            query = query.where(modeling_session.c.workspace_id == workspace_id)
        with self.engine.connect() as connection:
            ids = [row.session_id for row in connection.execute(query)]
        return [s for s in (self.get(i) for i in ids) if s is not None]

    def commit(
        self, session_id: str, step: str, payload: dict[str, Any], clear: list[str], now: int
    ) -> None:
        with transaction(self.engine) as connection:
            connection.execute(
                delete(modeling_step_state).where(
                    modeling_step_state.c.session_id == session_id,
                    modeling_step_state.c.step.in_([step, *clear]),
                )
            )
            connection.execute(
                modeling_step_state.insert().values(
                    session_id=session_id,
                    step=step,
                    payload_json=json.dumps(payload),
                    committed_at=now,
                )
            )
            connection.execute(
                update(modeling_session)
                .where(modeling_session.c.session_id == session_id)
                .values(updated_at=now)
            )

    def set_state(self, session_id: str, state: str, now: int) -> None:
        with transaction(self.engine) as connection:
            connection.execute(
                update(modeling_session)
                .where(modeling_session.c.session_id == session_id)
                .values(state=state, updated_at=now)
            )
