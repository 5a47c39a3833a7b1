"""The stream's client sessions in SQL (``ingestion_live_session``): a row when a client
connects, closed with its counts when it leaves."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from tradeloop.domain.live_session import LiveSession
from tradeloop.store.sql.tables import ingestion_live_session as table
from tradeloop.store.sql.transaction import transaction


class SqlLiveSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def opened(self, session: LiveSession) -> None:
        with transaction(self.engine) as connection:
            connection.execute(table.insert().values(**session.public()))

    def closed(self, session_id: str, state: str, sent: int, dropped: int, error: str | None,
               now: int) -> None:  # fmt: skip
        with transaction(self.engine) as connection:
            connection.execute(
                update(table)
                .where(table.c.session_id == session_id)
                .where(table.c.state == "open")
                .values(state=state, bins_sent=sent, bins_dropped=dropped,
                        error=None if error is None else error[:2000], ended_at=now)
            )  # fmt: skip

    def interrupt_open(self, now: int) -> int:
        with transaction(self.engine) as connection:
            return connection.execute(
                update(table).where(table.c.state == "open").values(state="interrupted",
                                                                    ended_at=now)
            ).rowcount  # fmt: skip

    def recent(self, limit: int = 100) -> list[LiveSession]:
        query = select(table).order_by(table.c.started_at.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [
                LiveSession(**{k: row._mapping[k] for k in LiveSession.__slots__})
                for row in connection.execute(query)
            ]
