"""SQL implementation of the order manager's journal (``orders`` and ``fills``)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from tradeloop.core.errors import DataError
from tradeloop.domain.enums import OrderType, Side, TimeInForce
from tradeloop.domain.order_lifecycle import IN_FLIGHT, ManagedOrder, OrderState
from tradeloop.domain.orders import OrderFilled, SubmitOrder
from tradeloop.execution.order_manager import UnknownOrderFill, VenueFill
from tradeloop.store.sql.tables import fills, orders
from tradeloop.store.sql.upsert import insert_if_absent, upsert


class SqlOrderJournal:
    """Orders and fills of one run (``run_id``) in one database; every write a transaction."""

    def __init__(self, engine: Engine, run_id: str, mode: str) -> None:
        self._engine = engine
        self.run_id = run_id
        self.mode = mode

    def insert_order(self, order: ManagedOrder) -> ManagedOrder:
        with self._engine.begin() as connection:
            upsert(connection, orders, [self._row(order)], ["client_order_id"], update=False)
            stored = self._load(connection, order.client_order_id)
        assert stored is not None
        return stored

    def save_order(self, order: ManagedOrder) -> None:
        with self._engine.begin() as connection:
            _update(connection, order)

    def apply_fill(
        self, fill: VenueFill, apply: Callable[[ManagedOrder], ManagedOrder]
    ) -> ManagedOrder | None:
        with self._engine.begin() as connection:
            order = self._load(connection, fill.client_order_id, lock=True)
            if order is None:
                raise UnknownOrderFill(
                    f"fill {fill.fill_id} names order "
                    f"{fill.client_order_id}, which was never journaled"
                )
            row = {
                "fill_id": fill.fill_id,
                "client_order_id": fill.client_order_id,
                "symbol": order.order.symbol,
                "side": str(order.order.side),
                "quantity": fill.quantity,
                "price": fill.price,
                "commission": fill.commission,
                "ts_event": fill.ts_event,
            }
            if not insert_if_absent(connection, fills, row, ["fill_id"]):
                owner = connection.execute(
                    select(fills.c.client_order_id).where(fills.c.fill_id == fill.fill_id)
                ).scalar_one()
                if owner != fill.client_order_id:
                    # Two venues (or accounts) reusing fill ids: skipping would lose money.
                    raise DataError(
                        f"fill id {fill.fill_id} of order {fill.client_order_id} is already "
                        f"stored for order {owner}; venue fill ids must be unique per "
                        "database (give each paper account its own venue id prefix)"
                    )
                return None  # applied before: nothing changes
            updated = apply(order)
            _update(connection, updated)
        return updated

    def get(self, client_order_id: str) -> ManagedOrder | None:
        with self._engine.connect() as connection:
            return self._load(connection, client_order_id)

    def in_flight(self) -> list[ManagedOrder]:
        query = (
            select(orders)
            .where(orders.c.run_id == self.run_id)
            .where(orders.c.status.in_([str(s) for s in IN_FLIGHT]))
            .order_by(orders.c.ts_init, orders.c.client_order_id)
        )
        with self._engine.connect() as connection:
            return [_order(row) for row in connection.execute(query).mappings()]

    def fills(self) -> list[OrderFilled]:
        """Every fill of this run in booking order (time, then order, then fill id)."""
        query = (
            select(fills, orders.c.ts_init)
            .join(orders, orders.c.client_order_id == fills.c.client_order_id)
            .where(orders.c.run_id == self.run_id)
            .order_by(fills.c.ts_event, orders.c.ts_init, fills.c.client_order_id, fills.c.fill_id)
        )
        with self._engine.connect() as connection:
            return [
                OrderFilled(
                    client_order_id=row["client_order_id"],
                    symbol=row["symbol"],
                    side=Side(row["side"]),
                    quantity=Decimal(row["quantity"]),
                    price=Decimal(row["price"]),
                    commission=Decimal(row["commission"]),
                    ts_event=row["ts_event"],
                )
                for row in connection.execute(query).mappings()
            ]

    def order_states(self) -> dict[str, tuple[OrderState, Decimal]]:
        """State and filled quantity of every order of this run, by client id."""
        query = select(orders.c.client_order_id, orders.c.status, orders.c.filled_quantity).where(
            orders.c.run_id == self.run_id
        )
        with self._engine.connect() as connection:
            return {
                cid: (OrderState(status), Decimal(filled))
                for cid, status, filled in connection.execute(query)
            }

    def _row(self, order: ManagedOrder) -> dict[str, Any]:
        o = order.order
        return {
            "client_order_id": o.client_order_id,
            "run_id": self.run_id,
            "mode": self.mode,
            "symbol": o.symbol,
            "side": str(o.side),
            "order_type": str(o.order_type),
            "quantity": o.quantity,
            "limit_price": o.limit_price,
            "status": str(order.state),
            "reason": order.reason or o.reason,
            "ts_init": o.ts_init,
            "ts_updated": order.ts_updated,
            "filled_quantity": order.filled_quantity,
            "average_price": order.average_price,
            "venue_order_id": order.venue_order_id,
            "stop_price": o.stop_price,
            "time_in_force": str(o.time_in_force),
            "decision_reason": o.reason,
        }

    def _load(
        self, connection: Connection, client_order_id: str, lock: bool = False
    ) -> ManagedOrder | None:
        query = select(orders).where(orders.c.client_order_id == client_order_id)
        if lock and connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).mappings().first()
        return None if row is None else _order(row)


def _order(row: Any) -> ManagedOrder:
    order = SubmitOrder(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=Decimal(row["quantity"]),
        ts_init=row["ts_init"],
        order_type=OrderType(row["order_type"]),
        limit_price=None if row["limit_price"] is None else Decimal(row["limit_price"]),
        stop_price=None if row["stop_price"] is None else Decimal(row["stop_price"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        reason=row["decision_reason"],
    )
    return ManagedOrder(
        order=order,
        state=OrderState(row["status"]),
        filled_quantity=Decimal(row["filled_quantity"]),
        average_price=Decimal(row["average_price"]),
        venue_order_id=row["venue_order_id"],
        reason=row["reason"],
        ts_updated=row["ts_updated"],
    )


def _update(connection: Connection, order: ManagedOrder) -> None:
    """Persist every mutable field of ``order`` (its state, fills, venue id, reason)."""
    connection.execute(
        orders.update()
        .where(orders.c.client_order_id == order.client_order_id)
        .values(
            status=str(order.state),
            reason=order.reason,
            ts_updated=order.ts_updated,
            filled_quantity=order.filled_quantity,
            average_price=order.average_price,
            venue_order_id=order.venue_order_id,
        )
    )
