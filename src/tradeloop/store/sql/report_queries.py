"""What the daily ML report reads and writes: matured predictions, features, trading and
data health figures, and the ``daily_ml_metrics`` history (idempotent by day + model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, and_, func, select

from tradeloop.monitor.prediction_frame import PREDICTION_SCHEMA
from tradeloop.store.sql.tables import (
    daily_ml_metrics,
    data_quality,
    event_labels,
    orders,
    pivot_events,
    prediction_log,
    price_history,
    symbol_governance,
    trades,
)
from tradeloop.store.sql.upsert import upsert


def matured_predictions(
    db: Engine, model_version_id: str, start_ns: int, end_ns: int
) -> pl.DataFrame:
    """Live (not preview, not shadow) predictions of a version for events in
    [start_ns, end_ns) whose label at the predicted horizon has matured by ``end_ns``; of
    several scores of one event (the log is insert-only) the first one counts, so a later
    request can never rewrite what the model predicted live."""
    live = and_(
        prediction_log.c.model_version_id == model_version_id,
        prediction_log.c.is_preview.is_(False),
        prediction_log.c.is_shadow.is_(False),
    )
    first = (
        select(func.min(prediction_log.c.id))
        .where(live)
        .group_by(prediction_log.c.event_id, prediction_log.c.target, prediction_log.c.horizon)
    )
    query = (
        select(
            prediction_log.c.event_id,
            pivot_events.c.symbol,
            pivot_events.c.level_type,
            pivot_events.c.ts_event,
            prediction_log.c.target,
            prediction_log.c.horizon,
            prediction_log.c.score,
            event_labels.c.label,
        )
        .join(pivot_events, pivot_events.c.event_id == prediction_log.c.event_id)
        .join(
            event_labels,
            and_(
                event_labels.c.event_id == prediction_log.c.event_id,
                event_labels.c.horizon_bars == prediction_log.c.horizon,
            ),
        )
        .where(
            live,
            prediction_log.c.id.in_(first),
            pivot_events.c.ts_event >= start_ns,
            pivot_events.c.ts_event < end_ns,
            event_labels.c.ts_matured <= end_ns,
        )
    )
    with db.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(query)]
    return pl.DataFrame(rows, schema=PREDICTION_SCHEMA)


def event_feature_matrix(
    db: Engine, names: Sequence[str], start_ns: int, end_ns: int, limit: int = 20_000
) -> np.ndarray:
    """Rows x ``names`` features of events in [start_ns, end_ns) (the latest ``limit``),
    missing values as NaN."""
    query = (
        select(pivot_events.c.features_json)
        .where(pivot_events.c.ts_event >= start_ns, pivot_events.c.ts_event < end_ns)
        .order_by(pivot_events.c.ts_event.desc())
        .limit(limit)
    )
    with db.connect() as connection:
        payloads = [json.loads(r[0]) for r in connection.execute(query)]
    matrix = np.full((len(payloads), len(names)), np.nan)
    for row, payload in enumerate(payloads):
        for column, name in enumerate(names):
            value = payload.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                matrix[row, column] = float(value)
    return matrix


def store_daily_metrics(db: Engine, rows: list[dict[str, Any]]) -> int:
    """Write one day's figures; running the report again for the day replaces them."""
    with db.begin() as connection:
        return upsert(
            connection, daily_ml_metrics, rows, ("day", "model_version_id", "target", "horizon")
        )


def daily_metrics_history(db: Engine, since_day: str) -> pl.DataFrame:
    query = select(daily_ml_metrics).where(daily_ml_metrics.c.day >= since_day)
    with db.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(query)]
    schema = {
        "day": pl.String,
        "model_version_id": pl.String,
        "target": pl.String,
        "horizon": pl.Int64,
        "samples": pl.Int64,
        "precision": pl.Float64,
        "auc": pl.Float64,
        "brier": pl.Float64,
        "calibration_gap": pl.Float64,
        "health_state": pl.String,
        "ts_computed": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def governance_counts(db: Engine) -> dict[str, int]:
    query = select(symbol_governance.c.state, func.count()).group_by(symbol_governance.c.state)
    with db.connect() as connection:
        return {str(state): int(count) for state, count in connection.execute(query)}


def latest_quality(db: Engine) -> list[dict[str, Any]]:
    """Each symbol's latest quality score and whether it was accepted."""
    latest = (
        select(data_quality.c.symbol, func.max(data_quality.c.ts_scored).label("ts"))
        .group_by(data_quality.c.symbol)
        .subquery()
    )
    query = select(data_quality.c.symbol, data_quality.c.score, data_quality.c.accepted).join(
        latest,
        and_(latest.c.symbol == data_quality.c.symbol, latest.c.ts == data_quality.c.ts_scored),
    )
    with db.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def last_bars(db: Engine) -> list[dict[str, Any]]:
    """The newest bar per (symbol, interval)."""
    query = select(
        price_history.c.symbol,
        price_history.c.bar_interval_sec,
        func.max(price_history.c.ts).label("last_ts"),
    ).group_by(price_history.c.symbol, price_history.c.bar_interval_sec)
    with db.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def closed_trades(db: Engine, start_ns: int, end_ns: int) -> pl.DataFrame:
    """Trades closed in [start_ns, end_ns) by paper and live accounts."""
    query = select(
        trades.c.run_id, trades.c.symbol, trades.c.pnl, trades.c.commission, trades.c.ts_exit
    ).where(
        trades.c.ts_exit >= start_ns,
        trades.c.ts_exit < end_ns,
        trades.c.run_id.like("paper-%") | trades.c.run_id.like("live-%"),
    )
    with db.connect() as connection:
        rows = [
            {**dict(r._mapping), "pnl": float(r.pnl), "commission": float(r.commission)}
            for r in connection.execute(query)
        ]
    schema = {
        "run_id": pl.String,
        "symbol": pl.String,
        "pnl": pl.Float64,
        "commission": pl.Float64,
        "ts_exit": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def account_trades_until(db: Engine, end_ns: int) -> pl.DataFrame:
    """Every closed trade of paper and live accounts up to ``end_ns`` (equity curves)."""
    return closed_trades(db, 0, end_ns)


def rejected_orders(db: Engine, start_ns: int, end_ns: int) -> dict[str, int]:
    """Orders the venue or the order path rejected in the window, by reason code."""
    query = select(orders.c.reason).where(
        orders.c.status == "REJECTED", orders.c.ts_updated >= start_ns, orders.c.ts_updated < end_ns
    )
    counts: dict[str, int] = {}
    with db.connect() as connection:
        for (reason,) in connection.execute(query):
            code = (reason or "unknown").partition(":")[0][:40]
            counts[code] = counts.get(code, 0) + 1
    return counts


def rollback_count(db: Engine) -> int:
    """Model rollbacks ever recorded (``promotion_audit`` decisions ROLLBACK)."""
    from tradeloop.store.sql.tables import promotion_audit

    query = select(func.count()).where(promotion_audit.c.decision == "ROLLBACK")
    with db.connect() as connection:
        return int(connection.execute(query).scalar_one())


class SqlReportQueries:
    """These queries on one database: the daily report's ``ReportQueries`` port."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def matured_predictions(
        self, model_version_id: str, start_ns: int, end_ns: int
    ) -> pl.DataFrame:
        return matured_predictions(self.engine, model_version_id, start_ns, end_ns)

    def event_feature_matrix(
        self, names: Sequence[str], start_ns: int, end_ns: int, limit: int = 20_000
    ) -> np.ndarray:
        return event_feature_matrix(self.engine, names, start_ns, end_ns, limit)

    def store_daily_metrics(self, rows: list[dict[str, Any]]) -> int:
        return store_daily_metrics(self.engine, rows)

    def daily_metrics_history(self, since_day: str) -> pl.DataFrame:
        return daily_metrics_history(self.engine, since_day)

    def governance_counts(self) -> dict[str, int]:
        return governance_counts(self.engine)

    def latest_quality(self) -> list[dict[str, Any]]:
        return latest_quality(self.engine)

    def last_bars(self) -> list[dict[str, Any]]:
        return last_bars(self.engine)

    def closed_trades(self, start_ns: int, end_ns: int) -> pl.DataFrame:
        return closed_trades(self.engine, start_ns, end_ns)

    def account_trades_until(self, end_ns: int) -> pl.DataFrame:
        return account_trades_until(self.engine, end_ns)

    def rejected_orders(self, start_ns: int, end_ns: int) -> dict[str, int]:
        return rejected_orders(self.engine, start_ns, end_ns)

    def rollback_count(self) -> int:
        return rollback_count(self.engine)
