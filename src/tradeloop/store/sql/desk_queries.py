"""What the trading desk page reads from SQL: an account's orders, fills and positions
(by its run id, ``paper-<name>`` or ``live-<name>``) and the daily closes that mark its
positions."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from tradeloop.domain.bar import DAILY_SEC
from tradeloop.store.sql.tables import fills, orders, positions, price_history

FINAL = ("FILLED", "CANCELED", "CANCELLED", "REJECTED", "EXPIRED")


class SqlDeskQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def _raw(self, query: Any) -> list[tuple[Any, ...]]:
        """Plain tuples from the driver: thousands of fills skip SQLAlchemy's per-value
        result processing (4x faster here); the bound values are rendered by the dialect."""
        with self.engine.connect() as connection:
            text = str(
                query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
            )
            return list(connection.exec_driver_sql(text).fetchall())

    def positions(self, run_id: str) -> list[dict[str, Any]]:
        query = select(positions).where(positions.c.run_id == run_id, positions.c.quantity != 0)
        return self._rows(query.order_by(positions.c.symbol))

    def open_orders(self, run_id: str) -> list[dict[str, Any]]:
        query = select(orders).where(orders.c.run_id == run_id, orders.c.status.not_in(FINAL))
        return self._rows(query.order_by(orders.c.ts_init.desc()))

    def fills(self, run_id: str) -> pl.DataFrame:
        """Every fill of the account, oldest first (symbol, side, quantity, price,
        commission, ts_event, the order's reason)."""
        query = (
            select(fills.c.fill_id, fills.c.symbol, fills.c.side, fills.c.quantity, fills.c.price,
                   fills.c.commission, fills.c.ts_event, orders.c.reason)
            .join(orders, orders.c.client_order_id == fills.c.client_order_id)
            .where(orders.c.run_id == run_id)
            .order_by(fills.c.ts_event, fills.c.fill_id)
        )  # fmt: skip
        rows = self._raw(query)
        schema = {"fill_id": pl.String, "symbol": pl.String, "side": pl.String,
                  "quantity": pl.Float64, "price": pl.Float64, "commission": pl.Float64,
                  "ts_event": pl.Int64, "reason": pl.String}  # fmt: skip
        return pl.DataFrame(rows, schema=schema, orient="row")

    def daily_closes(self, symbols: list[str], since_ns: int) -> pl.DataFrame:
        """symbol, ts, close of the stored daily bars since ``since_ns``."""
        query = (
            select(price_history.c.symbol, price_history.c.ts, price_history.c.close)
            .where(price_history.c.symbol.in_(symbols), price_history.c.ts >= since_ns,
                   price_history.c.bar_interval_sec == DAILY_SEC)
            .order_by(price_history.c.ts)
        )  # fmt: skip
        rows = self._raw(query)
        schema = {"symbol": pl.String, "ts": pl.Int64, "close": pl.Float64}
        return pl.DataFrame(rows, schema=schema, orient="row")
