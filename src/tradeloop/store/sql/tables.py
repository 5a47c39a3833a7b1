"""Table definitions (SQLAlchemy Core), named after the runbooks' tables.

Timestamps are BIGINT UTC epoch nanoseconds. Money in ledgers (orders, fills, positions,
trades) is NUMERIC so that it adds up exactly. Alembic migrations are generated from this
metadata; never edit a released migration, add a new one.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tradeloop.domain.money import MONEY_SCALE

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

MONEY = Numeric(28, MONEY_SCALE)

price_history = Table(
    "price_history",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("bar_interval_sec", Integer, primary_key=True),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
    Column("adj_close", Float),
    Column("source", String(32), nullable=False),
    Column("run_id", String(64)),
    Column("ts_ingested", BigInteger, nullable=False),
    # SQLite: cluster rows by their key, no separate rowid b-tree (faster bulk loads).
    sqlite_with_rowid=False,
)

symbol_governance = Table(
    "symbol_governance",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("rows", Integer, nullable=False, server_default="0"),
    Column("quality_score", Float),
    Column("provider", String(32)),
    Column("ts_updated", BigInteger, nullable=False),
)

data_quality = Table(
    "data_quality",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("rows", Integer, nullable=False),
    Column("missing_dates_pct", Float, nullable=False),
    Column("duplicate_pct", Float, nullable=False),
    Column("zero_negative_flag", Integer, nullable=False),
    Column("extreme_spike_flag", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("ts_scored", BigInteger, nullable=False),
)

ingestion_audit_runs = Table(
    "ingestion_audit_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("mode", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("symbols_requested", Integer, nullable=False, server_default="0"),
    Column("symbols_ok", Integer, nullable=False, server_default="0"),
    Column("symbols_rejected", Integer, nullable=False, server_default="0"),
    Column("rows_written", Integer, nullable=False, server_default="0"),
    Column("ts_started", BigInteger, nullable=False),
    Column("ts_finished", BigInteger),
    Column("detail", Text, nullable=False, server_default=""),
    Column("owner", String(128), nullable=False, server_default=""),  # host:pid running it
)

ingestion_audit = Table(
    "ingestion_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id",
        String(64),
        ForeignKey("ingestion_audit_runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("symbol", String(32), nullable=False),
    Column("provider", String(32)),
    Column("decision", String(32), nullable=False),
    Column("rows", Integer, nullable=False, server_default="0"),
    Column("detail", Text, nullable=False, server_default=""),
    Column("ts_event", BigInteger, nullable=False),
    Index("ix_ingestion_audit_run_symbol", "run_id", "symbol"),
)

pivot_events = Table(
    "pivot_events",
    metadata,
    Column("event_id", String(16), primary_key=True),
    Column("symbol", String(32), nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("level_type", String(32), nullable=False),
    Column("level_price", Float, nullable=False),
    Column("bar_interval_sec", Integer, nullable=False),
    Column("touch_price", Float),
    Column("session", String(10)),
    Column("features_json", Text, nullable=False, server_default="{}"),
    Column("feature_version", String(32), nullable=False),
    Column("feature_schema_hash", String(64), nullable=False),
    Column("ts_created", BigInteger, nullable=False),
    UniqueConstraint("symbol", "ts_event", "level_type", "level_price", "bar_interval_sec"),
)

event_labels = Table(
    "event_labels",
    metadata,
    Column(
        "event_id",
        String(16),
        ForeignKey("pivot_events.event_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("horizon_bars", Integer, primary_key=True),
    Column("return_bps", Float),
    Column("mfe_bps", Float),
    Column("mae_bps", Float),
    Column("hit_target", Boolean),
    Column("hit_stop", Boolean),
    Column("label", String(16)),
    Column("bars_to_barrier", Integer),
    Column("ts_matured", BigInteger, nullable=False),
)

prediction_log = Table(
    "prediction_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("model_version_id", String(64), nullable=False),
    Column("target", String(32), nullable=False),
    Column("horizon", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("is_preview", Boolean, nullable=False, server_default="0"),
    Column("is_shadow", Boolean, nullable=False, server_default="0"),
    Column("quality_flags", Text, nullable=False, server_default=""),
    Column("ts_scored", BigInteger, nullable=False),
    # Who asked for the score ("scorer <client address>", "retrain", ...). Insert-only: a
    # second score of an event is another row; readers take the first (lowest id).
    Column("source", String(64), nullable=False, server_default=""),
    Index(
        "ix_prediction_log_key", "event_id", "model_version_id", "target", "horizon", "is_shadow"
    ),
)

daily_ml_metrics = Table(
    "daily_ml_metrics",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("model_version_id", String(64), primary_key=True),
    Column("target", String(32), primary_key=True),
    Column("horizon", Integer, primary_key=True),
    Column("samples", Integer, nullable=False),
    Column("precision", Float),
    Column("auc", Float),
    Column("brier", Float),
    Column("calibration_gap", Float),
    Column("health_state", String(16), nullable=False),
    Column("ts_computed", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("client_order_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("quantity", MONEY, nullable=False),
    Column("limit_price", MONEY),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("ts_init", BigInteger, nullable=False),
    Column("ts_updated", BigInteger, nullable=False),
    Column("filled_quantity", MONEY, nullable=False, server_default="0"),
    Column("average_price", MONEY, nullable=False, server_default="0"),
    Column("venue_order_id", String(64), nullable=False, server_default=""),
    Column("stop_price", MONEY),
    Column("time_in_force", String(4), nullable=False, server_default="GTC"),
    # Why it was decided (a strategy's reason, or "close_all"); ``reason`` is its state's.
    Column("decision_reason", Text, nullable=False, server_default=""),
)

fills = Table(
    "fills",
    metadata,
    Column("fill_id", String(64), primary_key=True),
    Column(
        "client_order_id",
        String(64),
        ForeignKey("orders.client_order_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", MONEY, nullable=False),
    Column("price", MONEY, nullable=False),
    Column("commission", MONEY, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("quantity", MONEY, nullable=False),
    Column("avg_price", MONEY, nullable=False),
    Column("realized_pnl", MONEY, nullable=False),
    Column("ts_updated", BigInteger, nullable=False),
)

trades = Table(
    "trades",
    metadata,
    Column("trade_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("quantity", MONEY, nullable=False),
    Column("entry_price", MONEY, nullable=False),
    Column("exit_price", MONEY, nullable=False),
    Column("ts_entry", BigInteger, nullable=False),
    Column("ts_exit", BigInteger, nullable=False),
    Column("pnl", MONEY, nullable=False),
    Column("commission", MONEY, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("model_version_id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("feature_schema_hash", String(64), nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("manifest_json", Text, nullable=False),
    Column("ts_created", BigInteger, nullable=False),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("alias", String(32), primary_key=True),
    Column(
        "model_version_id",
        String(64),
        ForeignKey("model_versions.model_version_id"),
        nullable=False,
    ),
    Column("ts_updated", BigInteger, nullable=False),
)

promotion_audit = Table(
    "promotion_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("model_version_id", String(64), nullable=False),
    Column("alias", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("previous_version_id", String(64)),
    Column("gate_json", Text, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("ts_event", BigInteger, nullable=False),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Index("ix_audit_event_kind_ts", "kind", "ts_event"),
)

serving_activation = Table(
    "serving_activation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alias", String(64), nullable=False),
    Column("serving_id", String(16), nullable=False),
    Column("previous_serving_id", String(16)),
    Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Index("ix_serving_activation_alias_id", "alias", "id"),
)

experiment_job = Table(
    "experiment_job",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("experiment", String(128), nullable=False),
    Column("dataset_id", String(32)),
    Column("state", String(16), nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("points_total", Integer, nullable=False),
    Column("points_done", Integer, nullable=False),
    Column("error", Text),
    Column("actor", String(64), nullable=False),
    Column("submitted_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Column("workspace_id", String(48), nullable=False, server_default="default"),
)

job_event = Table(
    "job_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Index("ix_job_event_job_id", "job_id", "id"),
)

job_artifact = Table(
    "job_artifact",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("content_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("ts_event", BigInteger, nullable=False),
)

modeling_session = Table(
    "modeling_session",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("workspace_id", String(48), nullable=False, server_default="default"),
)

modeling_step_state = Table(
    "modeling_step_state",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("step", String(16), primary_key=True),
    Column("payload_json", Text, nullable=False),
    Column("committed_at", BigInteger, nullable=False),
)

workspace = Table(
    "workspace",
    metadata,
    Column("workspace_id", String(48), primary_key=True),
    Column("title", String(128), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

workspace_member = Table(
    "workspace_member",
    metadata,
    Column("workspace_id", String(48), primary_key=True),
    Column("member", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("added_at", BigInteger, nullable=False),
)

ingestion_live_session = Table(
    "ingestion_live_session",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("symbol", String(32), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("serving_id", String(64), nullable=False),
    Column("speed", String(16), nullable=False),
    Column("from_ns", BigInteger),
    Column("to_ns", BigInteger),
    Column("client", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("bins_sent", Integer, nullable=False),
    Column("bins_dropped", Integer, nullable=False),
    Column("error", Text),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Index("ix_ingestion_live_session_started", "started_at"),
)

stream_decision = Table(
    "stream_decision",
    metadata,
    Column("stage", String(32), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("outcome", String(32), nullable=False),
    Column("decision_json", Text, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Index("ix_stream_decision_recorded", "stage", "recorded_at"),
)

account_mode = Table(
    "account_mode",
    metadata,
    Column("account", String(40), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("since_ns", BigInteger, nullable=False),  # entered this mode
    Column("paper_since_ns", BigInteger),
    Column("live_since_ns", BigInteger),
    Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
)

ramp_review = Table(
    "ramp_review",
    metadata,
    Column("account", String(40), primary_key=True),
    Column("live_since_ns", BigInteger, primary_key=True),
    Column("week", Integer, primary_key=True),
    Column("pnl_usd", MONEY, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("step", Integer, nullable=False),
    Column("reviewed_at", BigInteger, nullable=False),
)

rollout_state = Table(
    "rollout_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("state_json", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

corporate_actions = Table(
    "corporate_actions",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", Float, nullable=False),
    Column("source", String(32), nullable=False),
    Column("run_id", String(64)),
)

symbol_metadata = Table(
    "symbol_metadata",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("asset_class", String(16), nullable=False),
    Column("provider", String(32)),
    Column("metadata_json", Text, nullable=False, server_default="{}"),
    Column("ts_updated", BigInteger, nullable=False),
)
