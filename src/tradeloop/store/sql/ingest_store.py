"""Ingestion's durable side: bars, actions, metadata, quality, governance and audit.

``commit_symbol`` writes all of one symbol's outcome in one transaction, so a crash
leaves either the whole symbol or none of it; every write is an upsert by natural key,
so a rerun never duplicates.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, select, update

from tradeloop.data.ports import History, SymbolOutcome
from tradeloop.data.quality import QualityReport
from tradeloop.domain.bar import BAR_SCHEMA
from tradeloop.domain.enums import SymbolState
from tradeloop.store.sql.bar_store import SqlBarStore
from tradeloop.store.sql.tables import (
    audit_event,
    corporate_actions,
    data_quality,
    ingestion_audit,
    ingestion_audit_runs,
    price_history,
    symbol_governance,
    symbol_metadata,
)
from tradeloop.store.sql.upsert import upsert


class SqlIngestStore(SqlBarStore):
    """Writes what ingestion decided, so an operator can see why a symbol is where it is."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._engine = engine

    def commit_symbol(self, run_id: str, outcome: SymbolOutcome, history: History | None) -> int:
        return self.commit_symbols(run_id, [(outcome, history)])[outcome.symbol]

    def commit_symbols(
        self, run_id: str, items: Sequence[tuple[SymbolOutcome, History | None]]
    ) -> dict[str, int]:
        """Write several symbols' outcomes in ONE transaction (a group commit): each
        symbol is still all-or-nothing, and the per-transaction cost is paid once."""
        now = time.time_ns()
        written = {outcome.symbol: 0 for outcome, _ in items}
        outcomes = [o for o, _ in items]
        with self._engine.begin() as connection:
            bars = [h.bars for _, h in items if h is not None and not h.bars.is_empty()]
            if bars:
                frame = pl.concat(bars)
                self.write_bars(connection, frame, run_id)
                written |= dict(frame.group_by("symbol").len().iter_rows())
            actions = [h.actions for _, h in items if h is not None and not h.actions.is_empty()]
            if actions:
                stamped = pl.concat(actions).with_columns(pl.lit(run_id).alias("run_id"))
                upsert(connection, corporate_actions, stamped.to_dicts(), ["symbol", "ts", "kind"])
            upsert(connection, symbol_metadata, _metadata_rows(items, now), ["symbol"])
            quality = _quality_rows(outcomes, run_id, now)
            upsert(connection, data_quality, quality, ["symbol", "run_id"])
            _govern(connection, outcomes, run_id, now)
            lines = _audit_lines(outcomes, written, run_id, now)
            connection.execute(ingestion_audit.insert(), lines)
        return written

    def load_bars_many(
        self, symbols: Sequence[str], bar_interval_sec: int, start_ns: int, end_ns: int
    ) -> pl.DataFrame:
        """Stored bars of ``symbols`` with ``start_ns <= ts <= end_ns``, in one query."""
        query = (
            select(*[price_history.c[name] for name in BAR_SCHEMA])
            .where(price_history.c.symbol.in_(list(symbols)))
            .where(price_history.c.bar_interval_sec == bar_interval_sec)
            .where(price_history.c.ts.between(start_ns, end_ns))
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return pl.DataFrame([tuple(row) for row in rows], schema=BAR_SCHEMA, orient="row")

    def last_bar_ts(self, symbol: str, bar_interval_sec: int) -> int | None:
        query = (
            select(func.max(price_history.c.ts))
            .where(price_history.c.symbol == symbol)
            .where(price_history.c.bar_interval_sec == bar_interval_sec)
        )
        with self._engine.connect() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return int(value) if value is not None else None

    def governance_states(self) -> dict[str, tuple[str, str]]:
        return {row["symbol"]: (row["state"], row["reason"]) for row in self.governance()}

    def snapshot(self, bar_interval_sec: int = 86_400) -> dict[str, dict[str, Any]]:
        """Per symbol: stored rows and range, latest quality, governance state."""
        result: dict[str, dict[str, Any]] = {}
        bars_query = (
            select(
                price_history.c.symbol,
                func.count().label("rows"),
                func.min(price_history.c.ts).label("first_ts"),
                func.max(price_history.c.ts).label("last_ts"),
            )
            .where(price_history.c.bar_interval_sec == bar_interval_sec)
            .group_by(price_history.c.symbol)
        )
        with self._engine.connect() as connection:
            for row in connection.execute(bars_query).mappings():
                result.setdefault(row["symbol"], {}).update(
                    rows=int(row["rows"]), first_ts=row["first_ts"], last_ts=row["last_ts"]
                )
            for row in connection.execute(_latest_quality_query()).mappings():
                result.setdefault(row["symbol"], {}).update(
                    quality_score=row["score"], quality_accepted=bool(row["accepted"])
                )
            for row in connection.execute(select(symbol_governance)).mappings():
                result.setdefault(row["symbol"], {}).update(
                    state=row["state"], reason=row["reason"], governed_rows=row["rows"]
                )
        return result

    def run_summary(self, run_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            row = (
                connection.execute(
                    select(ingestion_audit_runs).where(ingestion_audit_runs.c.run_id == run_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def audit_lines(self, run_id: str) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(ingestion_audit)
                .where(ingestion_audit.c.run_id == run_id)
                .order_by(ingestion_audit.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def start_run(self, run_id: str, mode: str, symbols_requested: int) -> None:
        """Record the run as RUNNING, owned by this process; first seal as ABORTED every
        run of this host still RUNNING whose process is gone (a kill -9 mid-run)."""
        host, now = socket.gethostname(), time.time_ns()
        with self._engine.begin() as connection:
            running = connection.execute(
                select(ingestion_audit_runs.c.run_id, ingestion_audit_runs.c.owner).where(
                    ingestion_audit_runs.c.status == "RUNNING"
                )
            ).all()
            for other, owner in running:
                owner_host, _, pid = str(owner).rpartition(":")
                if owner_host != host or not pid.isdigit() or _alive(int(pid)):
                    continue  # another machine's run, or one still going: not ours to seal
                connection.execute(
                    update(ingestion_audit_runs)
                    .where(ingestion_audit_runs.c.run_id == other)
                    .values(
                        status="ABORTED",
                        ts_finished=now,
                        detail=f"process {pid} ended before the run finished (killed?); "
                        f"sealed when run {run_id} started",
                    )
                )
            upsert(
                connection,
                ingestion_audit_runs,
                [
                    {
                        "run_id": run_id,
                        "mode": mode,
                        "status": "RUNNING",
                        "symbols_requested": symbols_requested,
                        "ts_started": now,
                        "owner": f"{host}:{os.getpid()}",
                    }
                ],
                ["run_id"],
            )

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
                [
                    {
                        "symbol": report.symbol,
                        "run_id": run_id,
                        "rows": report.rows,
                        "missing_dates_pct": report.missing_dates_pct,
                        "duplicate_pct": report.duplicate_pct,
                        "zero_negative_flag": report.zero_negative_flag,
                        "extreme_spike_flag": report.extreme_spike_flag,
                        "score": report.score,
                        "accepted": report.accepted,
                        "ts_scored": now,
                    }
                ],
                ["symbol", "run_id"],
            )
            upsert(
                connection,
                symbol_governance,
                [
                    {
                        "symbol": report.symbol,
                        "state": state.value,
                        "reason": reason,
                        "rows": report.rows,
                        "quality_score": report.score,
                        "provider": provider,
                        "ts_updated": now,
                    }
                ],
                ["symbol"],
            )
            connection.execute(
                ingestion_audit.insert().values(
                    run_id=run_id,
                    symbol=report.symbol,
                    provider=provider,
                    decision=state.value,
                    rows=report.rows,
                    detail=reason,
                    ts_event=now,
                )
            )

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
                    kind=kind,
                    subject=subject,
                    actor=actor,
                    ts_event=time.time_ns(),
                    payload_json=json.dumps(payload, sort_keys=True, default=str),
                )
            )


def _latest_quality_query() -> Any:
    latest = (
        select(data_quality.c.symbol, func.max(data_quality.c.ts_scored).label("ts"))
        .group_by(data_quality.c.symbol)
        .subquery()
    )
    return select(data_quality).join(
        latest,
        (data_quality.c.symbol == latest.c.symbol) & (data_quality.c.ts_scored == latest.c.ts),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _metadata_rows(
    items: Sequence[tuple[SymbolOutcome, History | None]], now: int
) -> list[dict[str, Any]]:
    return [
        {
            "symbol": o.symbol,
            "asset_class": o.asset_class,
            "provider": o.provider,
            "metadata_json": json.dumps(h.metadata, sort_keys=True),
            "ts_updated": now,
        }
        for o, h in items
        if h is not None
    ]


def _quality_rows(outcomes: list[SymbolOutcome], run_id: str, now: int) -> list[dict[str, Any]]:
    return [
        {
            "symbol": o.symbol,
            "run_id": run_id,
            "rows": o.quality.rows,
            "missing_dates_pct": o.quality.missing_dates_pct,
            "duplicate_pct": o.quality.duplicate_pct,
            "zero_negative_flag": o.quality.zero_negative_flag,
            "extreme_spike_flag": o.quality.extreme_spike_flag,
            "score": o.quality.score,
            "accepted": o.quality.accepted,
            "ts_scored": now,
        }
        for o in outcomes
    ]


def _govern(connection: Connection, outcomes: list[SymbolOutcome], run_id: str, now: int) -> None:
    """Each symbol's governance state, and an audit event for every state that changed."""
    previous = dict(
        connection.execute(
            select(symbol_governance.c.symbol, symbol_governance.c.state).where(
                symbol_governance.c.symbol.in_([o.symbol for o in outcomes])
            )
        ).all()
    )
    states = [
        {
            "symbol": o.symbol,
            "state": o.state.value,
            "reason": o.reason,
            "rows": o.quality.rows,
            "quality_score": o.quality.score,
            "provider": o.provider,
            "ts_updated": now,
        }
        for o in outcomes
    ]
    upsert(connection, symbol_governance, states, ["symbol"])
    changes = [
        {
            "kind": "symbol_state_changed",
            "subject": o.symbol,
            "actor": "ingest",
            "ts_event": now,
            "payload_json": json.dumps(
                {
                    "from": previous.get(o.symbol),
                    "to": o.state.value,
                    "reason": o.reason,
                    "run_id": run_id,
                }
            ),
        }
        for o in outcomes
        if previous.get(o.symbol) != o.state.value
    ]
    if changes:
        connection.execute(audit_event.insert(), changes)


def _audit_lines(
    outcomes: list[SymbolOutcome], written: dict[str, int], run_id: str, now: int
) -> list[dict[str, Any]]:
    """Every provider attempt of every symbol, then the symbol's decision."""
    lines: list[dict[str, Any]] = []
    for outcome in outcomes:
        lines += [
            {
                "run_id": run_id,
                "symbol": outcome.symbol,
                "provider": attempt.provider,
                "decision": attempt.outcome,
                "rows": attempt.rows,
                "detail": attempt.detail,
                "ts_event": now,
            }
            for attempt in outcome.attempts
        ]
        lines.append(
            {
                "run_id": run_id,
                "symbol": outcome.symbol,
                "provider": outcome.provider,
                "decision": outcome.decision,
                "rows": written[outcome.symbol],
                "detail": f"{outcome.state.value}: {outcome.reason}",
                "ts_event": now,
            }
        )
    return lines
