"""A paper or live account's stores in SQL: the order journal, the ledger projections and
the audit trail (the ``usecases.paper_trading.PaperStores`` port)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tradeloop.execution.portfolio import ClosedTrade, Portfolio
from tradeloop.store.sql.audit import record_audit_event
from tradeloop.store.sql.ledger import write_ledger
from tradeloop.store.sql.order_journal import SqlOrderJournal


class SqlPaperStores:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def order_journal(self, run_id: str, mode: str) -> SqlOrderJournal:
        return SqlOrderJournal(self.engine, run_id, mode)

    def write_ledger(
        self, run_id: str, portfolio: Portfolio, closed: Sequence[ClosedTrade], ts: int
    ) -> None:
        write_ledger(self.engine, run_id, portfolio, closed, ts)

    def audit(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        record_audit_event(self.engine, kind, subject, payload, actor)
