"""The desk's queries on SQLite and PostgreSQL: an account's fills in time order with their
order's reason, its open orders only, its non-zero positions, and the daily closes since a
time; other accounts' rows never show."""

from __future__ import annotations

from sqlalchemy import Engine

from tradeloop.store.sql.desk_queries import SqlDeskQueries
from tradeloop.store.sql.tables import fills, orders, positions, price_history

DAY = 86_400 * 10**9


def _order(i: int, run_id: str, status: str) -> dict[str, object]:
    return {"client_order_id": f"o{i}", "run_id": run_id, "mode": "paper", "symbol": "XYZ",
            "side": "BUY", "order_type": "MARKET", "quantity": 5, "status": status,
            "reason": f"why {i}", "ts_init": i * DAY, "ts_updated": i * DAY, "filled_quantity": 0,
            "average_price": 0.0, "time_in_force": "GTC", "decision_reason": ""}  # fmt: skip


def test_desk_queries_when_two_accounts_then_each_sees_its_own(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(orders.insert(), [_order(1, "paper-a", "FILLED"),
                                             _order(2, "paper-a", "SENT"),
                                             _order(3, "paper-b", "FILLED")])  # fmt: skip
        connection.execute(fills.insert(), [
            {"fill_id": f"f{i}", "client_order_id": f"o{i}", "symbol": "XYZ", "side": "BUY",
             "quantity": 5, "price": 10.0 + i, "commission": 0.5, "ts_event": i * DAY}
            for i in (1, 3)
        ])  # fmt: skip
        connection.execute(positions.insert(), [
            {"run_id": "paper-a", "symbol": s, "quantity": q, "avg_price": 11.0,
             "realized_pnl": 0.0, "ts_updated": DAY}
            for s, q in (("XYZ", 5), ("OLD", 0))
        ])  # fmt: skip
        connection.execute(price_history.insert(), [
            {"symbol": s, "ts": d * DAY, "bar_interval_sec": 86_400, "open": 1.0, "high": 1.0,
             "low": 1.0, "close": float(d), "volume": 1.0, "adj_close": 1.0, "source": "t",
             "run_id": "t", "ts_ingested": 0}
            for s in ("XYZ", "ZZZ") for d in (1, 2, 3)
        ])  # fmt: skip
    queries = SqlDeskQueries(engine)
    got = queries.fills("paper-a")
    assert got.select("fill_id", "price", "ts_event", "reason").rows() == [
        ("f1", 11.0, DAY, "why 1")
    ]
    assert [o["client_order_id"] for o in queries.open_orders("paper-a")] == ["o2"]
    assert [p["symbol"] for p in queries.positions("paper-a")] == ["XYZ"]
    closes = queries.daily_closes(["XYZ"], 2 * DAY)
    assert closes.rows() == [("XYZ", 2 * DAY, 2.0), ("XYZ", 3 * DAY, 3.0)]
    assert queries.fills("paper-nobody").is_empty()
