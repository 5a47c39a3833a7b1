"""Pivot events and their labels in SQL: inserting an event twice is a no-op."""

from __future__ import annotations

import json
import time
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, select

from tradeloop.features.event_schema import EVENT_SCHEMA
from tradeloop.store.sql.tables import event_labels, pivot_events
from tradeloop.store.sql.upsert import upsert

_CHUNK = 2_000


class SqlEventStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert_events(self, events: pl.DataFrame) -> int:
        """Insert new events (existing ids are left untouched); return how many were new."""
        return self.insert_new_events(events).height

    def insert_new_events(self, events: pl.DataFrame) -> pl.DataFrame:
        """Insert the events not stored yet, in one transaction; return exactly those."""
        if events.is_empty():
            return events
        with self._engine.connect() as connection:
            known: set[str] = set()
            ids = events["event_id"].to_list()
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                known |= set(
                    connection.execute(
                        select(pivot_events.c.event_id).where(pivot_events.c.event_id.in_(chunk))
                    ).scalars()
                )
        events = events.filter(~pl.col("event_id").is_in(list(known)))
        if events.is_empty():
            return events
        now = time.time_ns()
        rows = [
            {
                "event_id": row["event_id"],
                "symbol": row["symbol"],
                "ts_event": row["ts_event"],
                "level_type": row["level_type"],
                "level_price": row["level_price"],
                "bar_interval_sec": row["bar_interval_sec"],
                "touch_price": row["touch_price"],
                "session": str(row["session"]),
                "features_json": json.dumps(
                    {name: row[name] for name in EVENT_SCHEMA.names}, allow_nan=False
                ),
                "feature_version": EVENT_SCHEMA.version,
                "feature_schema_hash": EVENT_SCHEMA.schema_hash,
                "ts_created": now,
            }
            for row in events.iter_rows(named=True)
        ]
        with self._engine.begin() as connection:
            for start in range(0, len(rows), _CHUNK):
                upsert(
                    connection,
                    pivot_events,
                    rows[start : start + _CHUNK],
                    ["event_id"],
                    update=False,
                )
        return events

    def upsert_labels(self, labels: pl.DataFrame) -> int:
        """Insert or refresh labels by (event_id, horizon_bars)."""
        if labels.is_empty():
            return 0
        rows = labels.to_dicts()
        with self._engine.begin() as connection:
            for start in range(0, len(rows), _CHUNK):
                upsert(
                    connection,
                    event_labels,
                    rows[start : start + _CHUNK],
                    ["event_id", "horizon_bars"],
                )
        return len(rows)

    def load_events(self, symbol: str | None = None) -> pl.DataFrame:
        """Events with their features expanded into columns."""
        query = select(pivot_events).order_by(pivot_events.c.symbol, pivot_events.c.ts_event)
        if symbol is not None:
            query = query.where(pivot_events.c.symbol == symbol)
        with self._engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        if not rows:
            return pl.DataFrame()
        expanded: list[dict[str, Any]] = [
            {
                **{k: v for k, v in row.items() if k != "features_json"},
                **json.loads(row["features_json"]),
            }
            for row in rows
        ]
        return pl.DataFrame(expanded, infer_schema_length=None)

    def load_labels(self) -> pl.DataFrame:
        with self._engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(select(event_labels)).mappings()]
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def count_events(self) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(pivot_events)).scalar_one()
            )
