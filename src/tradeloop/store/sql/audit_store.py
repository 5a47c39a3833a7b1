"""Ingestion audit, quality scores, symbol governance and the generic audit trail."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, select, update

from tradeloop.data.quality import QualityReport
from tradeloop.domain.enums import SymbolState
from tradeloop.store.sql.tables import (
    audit_event,
    data_quality,
    ingestion_audit,
    ingestion_audit_runs,
    symbol_governance,
)
from tradeloop.store.sql.upsert import upsert


class SqlAuditStore:
    """Writes what ingestion decided, so an operator can see why a symbol is where it is."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start_run(self, run_id: str, mode: str, symbols_requested: int) -> None:
        with self._engine.begin() as connection:
            upsert(
                connection,
                ingestion_audit_runs,
                [{"run_id": run_id, "mode": mode, "status": "RUNNING",
                  "symbols_requested": symbols_requested, "ts_started": time.time_ns()}],
                ["run_id"],
            )  # fmt: skip

    def record_symbol(
        self,
        run_id: str,
        report: QualityReport,
        provider: str,
        state: SymbolState,
        reason: str,
    ) -> None:
        """Store the quality score, the governance state and the audit line in one transaction."""
        now = time.time_ns()
        with self._engine.begin() as connection:
            upsert(
                connection,
                data_quality,
                [{"symbol": report.symbol, "run_id": run_id, "rows": report.rows,
                  "missing_dates_pct": report.missing_dates_pct,
                  "duplicate_pct": report.duplicate_pct,
                  "zero_negative_flag": report.zero_negative_flag,
                  "extreme_spike_flag": report.extreme_spike_flag,
                  "score": report.score, "accepted": report.accepted, "ts_scored": now}],
                ["symbol", "run_id"],
            )  # fmt: skip
            upsert(
                connection,
                symbol_governance,
                [{"symbol": report.symbol, "state": state.value, "reason": reason,
                  "rows": report.rows, "quality_score": report.score, "provider": provider,
                  "ts_updated": now}],
                ["symbol"],
            )  # fmt: skip
            connection.execute(
                ingestion_audit.insert().values(
                    run_id=run_id, symbol=report.symbol, provider=provider,
                    decision=state.value, rows=report.rows, detail=reason, ts_event=now,
                )
            )  # fmt: skip

    def finish_run(self, run_id: str, status: str, **counts: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(ingestion_audit_runs)
                .where(ingestion_audit_runs.c.run_id == run_id)
                .values(status=status, ts_finished=time.time_ns(), **counts)
            )

    def governance(self) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(symbol_governance).order_by("symbol")).mappings()
            return [dict(row) for row in rows]

    def record_event(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                audit_event.insert().values(
                    kind=kind, subject=subject, actor=actor, ts_event=time.time_ns(),
                    payload_json=json.dumps(payload, sort_keys=True, default=str),
                )
            )  # fmt: skip
