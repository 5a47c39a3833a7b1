"""A paper or live account's stores in SQL: the order journal, the ledger projections and
the audit trail (the ``usecases.paper_trading.PaperStores`` port)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from tradeloop.execution.portfolio import ClosedTrade, Portfolio
from tradeloop.store.sql.audit import record_audit_event
from tradeloop.store.sql.ledger import write_ledger
from tradeloop.store.sql.order_journal import SqlOrderJournal
from tradeloop.store.sql.transaction import Target


class _SqlAccountWrites:
    """The ledger projections and the audit trail, written through ``target``."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def write_ledger(
        self, run_id: str, portfolio: Portfolio, closed: Sequence[ClosedTrade], ts: int
    ) -> None:
        write_ledger(self.target, run_id, portfolio, closed, ts)

    def audit(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        record_audit_event(self.target, kind, subject, payload, actor)


class SqlPaperStores(_SqlAccountWrites):
    """Each write its own transaction; ``unit_of_work`` groups several into one."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.engine = engine

    def order_journal(self, run_id: str, mode: str) -> SqlOrderJournal:
        return SqlOrderJournal(self.engine, run_id, mode)

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[_SqlAccountWrites]:
        """Writes that commit together when the block ends, or not at all if it raises."""
        with self.engine.begin() as connection:
            yield _SqlAccountWrites(connection)
