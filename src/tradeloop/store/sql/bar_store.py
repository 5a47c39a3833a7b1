"""Bars in ``price_history``: the SQL implementation of the BarStore port."""

from __future__ import annotations

import time

import polars as pl
from sqlalchemy import Connection, Engine, select

from tradeloop.data.validation import validate_bars
from tradeloop.domain.bar import BAR_KEY, BAR_SCHEMA
from tradeloop.store.sql.tables import price_history
from tradeloop.store.sql.upsert import upsert

_CHUNK_ROWS = 5_000


class SqlBarStore:
    """Idempotent bar storage: re-ingesting the same bars changes nothing."""

    def __init__(self, engine: Engine, run_id: str | None = None) -> None:
        self._engine = engine
        self._run_id = run_id

    def upsert_bars(self, bars: pl.DataFrame) -> int:
        with self._engine.begin() as connection:
            return self.write_bars(connection, bars, self._run_id)

    @staticmethod
    def write_bars(connection: Connection, bars: pl.DataFrame, run_id: str | None) -> int:
        """Validate and upsert ``bars`` inside the caller's transaction."""
        bars = validate_bars(bars, "bars to store")
        if bars.is_empty():
            return 0
        stamped = bars.with_columns(
            pl.lit(run_id, pl.String).alias("run_id"),
            pl.lit(time.time_ns(), pl.Int64).alias("ts_ingested"),
        )
        written = 0
        for chunk in stamped.iter_slices(_CHUNK_ROWS):
            written += upsert(connection, price_history, chunk.to_dicts(), BAR_KEY)
        return written

    def load_bars(
        self, symbol: str, bar_interval_sec: int, *, as_of_ns: int | None = None
    ) -> pl.DataFrame:
        query = (
            select(*[price_history.c[name] for name in BAR_SCHEMA])
            .where(price_history.c.symbol == symbol)
            .where(price_history.c.bar_interval_sec == bar_interval_sec)
            .order_by(price_history.c.ts)
        )
        if as_of_ns is not None:
            query = query.where(price_history.c.ts <= as_of_ns)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return pl.DataFrame([tuple(row) for row in rows], schema=BAR_SCHEMA, orient="row")
