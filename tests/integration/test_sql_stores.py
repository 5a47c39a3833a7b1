"""Repositories on both SQLite and PostgreSQL (real servers, never mocked)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, inspect, text

from tradeloop.core.errors import GateRejected, StorageBusy, StorageUnavailable
from tradeloop.data.quality import score_quality
from tradeloop.domain.enums import SymbolState
from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME
from tradeloop.registry.registry import ModelRegistry
from tradeloop.store.sql.bar_store import SqlBarStore
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.ingest_store import SqlIngestStore
from tradeloop.store.sql.migrate import current_revision, head_revision, upgrade
from tradeloop.store.sql.model_records import SqlModelRecords
from tradeloop.store.sql.tables import metadata
from tradeloop.testing import stub_bars
from tradeloop.testing.event_models import TINY_CONFIG, stub_event_version

RUNBOOK_TABLES = {
    "price_history",
    "symbol_governance",
    "data_quality",
    "ingestion_audit",
    "ingestion_audit_runs",
    "pivot_events",
    "event_labels",
    "prediction_log",
    "daily_ml_metrics",
    "orders",
    "fills",
    "positions",
    "trades",
    "model_versions",
    "model_aliases",
    "promotion_audit",
    "audit_event",
}


def test_upgrade_when_fresh_then_all_runbook_tables_and_repeatable(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= RUNBOOK_TABLES
    assert current_revision(engine) == head_revision()
    assert upgrade(engine) == head_revision()  # second run is a no-op


def test_sqlite_when_opened_then_wal_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        # FULL (2): orders, fills and audit rows survive a power cut, not only a crash.
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2


def test_upsert_bars_when_repeated_then_idempotent_and_as_of_respected(engine: Engine) -> None:
    store = SqlBarStore(engine, run_id="r1")
    bars = stub_bars("AAA", 50)
    assert store.upsert_bars(bars) == 50
    store.upsert_bars(bars)
    loaded = store.load_bars("AAA", 86_400)
    assert loaded.height == 50
    assert loaded.equals(bars)
    cutoff = int(bars["ts"][19])
    assert store.load_bars("AAA", 86_400, as_of_ns=cutoff).height == 20


def test_upsert_bars_when_one_row_invalid_then_nothing_written(engine: Engine) -> None:
    store = SqlBarStore(engine)
    bars = stub_bars("BBB", 30)
    bad = bars.with_columns(
        pl.when(pl.int_range(pl.len()) == 29).then(-1.0).otherwise(pl.col("low")).alias("low")
    )
    with pytest.raises(Exception, match="non-positive price"):
        store.upsert_bars(bad)
    assert store.load_bars("BBB", 86_400).is_empty()


def test_audit_when_symbol_recorded_then_governance_and_audit_consistent(engine: Engine) -> None:
    audit = SqlIngestStore(engine)
    audit.start_run("run-1", "deep_backfill", 1)
    report = score_quality(stub_bars("CCC", 100))
    audit.record_symbol("run-1", report, "stub", SymbolState.ACTIVE, "ok")
    audit.finish_run("run-1", "OK", symbols_ok=1)
    governance = audit.governance()
    assert [(row["symbol"], row["state"]) for row in governance] == [("CCC", "ACTIVE")]
    with engine.connect() as connection:
        status = connection.execute(text("SELECT status FROM ingestion_audit_runs")).scalar()
        lines = connection.execute(text("SELECT count(*) FROM ingestion_audit")).scalar()
    assert (status, lines) == ("OK", 1)


def test_registry_when_gate_fails_then_alias_unchanged_and_audited(
    engine: Engine, tmp_path: Path
) -> None:
    registry = ModelRegistry(tmp_path / "models", SqlModelRecords(engine))
    first = stub_event_version(registry, seed=1).version_id
    narrow = TINY_CONFIG.model_copy(update={"targets": ("held",)})
    weak = stub_event_version(registry, seed=2, config=narrow).version_id  # drops a target
    better = stub_event_version(registry, seed=3, start_ns=1_800_000_000_000_000_000).version_id
    assert first
    assert weak
    assert better
    assert registry.promote(NAME, first, "active", actor="t").previous_version_id is None
    with pytest.raises(GateRejected, match="keeps_active_coverage: would drop mfe_bps@5"):
        registry.promote(NAME, weak, "active", actor="t")
    assert registry.resolve(NAME, "active") == first
    registry.promote(NAME, better, "active", actor="t")
    assert (registry.resolve(NAME, "active"), registry.resolve(NAME, "prev")) == (better, first)
    registry.rollback(NAME, actor="ops", reason="precision dropped")
    assert (registry.resolve(NAME, "active"), registry.resolve(NAME, "prev")) == (first, better)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT alias, decision, actor FROM promotion_audit ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("candidate", "PROMOTED", "train"),
        ("candidate", "PROMOTED", "train"),
        ("candidate", "PROMOTED", "train"),
        ("active", "PROMOTED", "t"),
        ("active", "REJECTED", "t"),
        ("active", "PROMOTED", "t"),
        ("active", "ROLLBACK", "ops"),
    ]
    assert registry.history(NAME, 1)[0].gate["reason"] == "precision dropped"


def test_open_engine_when_server_unreachable_then_retryable_without_password() -> None:
    with pytest.raises(StorageUnavailable) as error:
        open_engine("postgresql://user:hunter2@127.0.0.1:1/nowhere")
    assert "hunter2" not in str(error.value)
    assert "TRADELOOP_DB_URL" in str(error.value)


def test_migrations_when_applied_then_schema_equals_table_definitions(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_prediction_log_when_event_scored_again_then_new_row_and_first_score_counts(
    engine: Engine,
) -> None:
    from tradeloop.store.sql.prediction_log import write_predictions
    from tradeloop.store.sql.report_queries import matured_predictions
    from tradeloop.store.sql.tables import event_labels, pivot_events

    with engine.begin() as connection:
        connection.execute(
            pivot_events.insert(),
            [
                {
                    "event_id": "e1",
                    "symbol": "SPY",
                    "ts_event": 100,
                    "level_type": "R1",
                    "level_price": 500.0,
                    "bar_interval_sec": 60,
                    "feature_version": "v",
                    "feature_schema_hash": "h",
                    "ts_created": 100,
                }
            ],
        )
        connection.execute(
            event_labels.insert(),
            [{"event_id": "e1", "horizon_bars": 5, "label": "held", "ts_matured": 400}],
        )

    def row(score: float, source: str, ts: int) -> dict[str, object]:
        return {
            "event_id": "e1",
            "symbol": "SPY",
            "model_version_id": "m1",
            "target": "held",
            "horizon": 5,
            "score": score,
            "is_preview": False,
            "is_shadow": False,
            "quality_flags": "",
            "ts_scored": ts,
            "source": source,
        }

    assert write_predictions(engine, [row(0.81, "scorer 127.0.0.1", 200)]) == 1
    # Someone scores the same event again (a retry, or another client): a row of its own.
    assert write_predictions(engine, [row(0.02, "scorer 10.0.0.9", 300)]) == 1
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT score, source FROM prediction_log ORDER BY id")
        ).all()
    assert [tuple(r) for r in stored] == [(0.81, "scorer 127.0.0.1"), (0.02, "scorer 10.0.0.9")]
    judged = matured_predictions(engine, "m1", 0, 1_000)
    assert judged["score"].to_list() == [0.81]  # the live prediction, not the rewrite


def test_sqlite_when_locked_past_busy_timeout_then_retryable_naming_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import tradeloop.store.sql.engine as engine_module

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "busy.db"
    database = open_engine(f"sqlite:///{path}")
    upgrade(database)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StorageBusy) as busy:
            SqlBarStore(database).upsert_bars(stub_bars("SPY", 5))
    finally:
        holder.rollback()
        holder.close()
    assert "stayed locked by another writer" in str(busy.value)
    assert "nothing of this step was written" in str(busy.value)
    assert SqlBarStore(database).load_bars("SPY", 86_400).height == 0
    database.dispose()


def test_paper_unit_of_work_when_a_write_fails_then_none_of_its_writes_land(
    engine: Engine,
) -> None:
    from decimal import Decimal

    from tradeloop.domain.enums import Side
    from tradeloop.domain.orders import OrderFilled
    from tradeloop.execution.portfolio import Portfolio
    from tradeloop.store.sql.paper_stores import SqlPaperStores

    stores = SqlPaperStores(engine)
    fill = OrderFilled("o1", "SPY", Side.BUY, Decimal(2), Decimal(100), Decimal(0), 1)
    portfolio = Portfolio.replayed(Decimal(1000), [fill])

    def counts() -> tuple[int, int]:
        with engine.connect() as connection:
            audits = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
            held = connection.execute(text("SELECT count(*) FROM positions")).scalar_one()
        return int(audits), int(held)

    def interrupted() -> None:
        with stores.unit_of_work() as unit:
            unit.audit("paper_reconcile", "paper-a", {"correction": "adopted f1"}, "t")
            unit.write_ledger("paper-a", portfolio, [], 1)
            raise RuntimeError("crashed before the unit ended")

    before = counts()
    with pytest.raises(RuntimeError, match="crashed"):
        interrupted()
    assert counts() == before
    with stores.unit_of_work() as unit:
        unit.audit("paper_reconcile", "paper-a", {"correction": "adopted f1"}, "t")
        unit.write_ledger("paper-a", portfolio, [], 1)
    assert counts() == (before[0] + 1, before[1] + 1)


def test_head_revision_constant_when_compared_then_equals_alembic_head() -> None:
    """Commands start without Alembic when the database is at ``HEAD_REVISION``: it must
    name the newest migration shipped."""
    from tradeloop.store.sql.migrate import HEAD_REVISION

    assert head_revision() == HEAD_REVISION
