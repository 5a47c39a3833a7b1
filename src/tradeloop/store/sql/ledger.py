"""The ledger's projections in SQL: the ``positions`` and ``trades`` tables of a run.

Both are derived from the fills (the ledger is rebuilt from them on every start), so
writing them is idempotent: positions are replaced per (run, symbol), trades inserted
once by a natural key.
"""

from __future__ import annotations

from collections.abc import Sequence

from tradeloop.core.ids import natural_key_id
from tradeloop.execution.portfolio import ClosedTrade, Portfolio
from tradeloop.store.sql.tables import positions, trades
from tradeloop.store.sql.transaction import Target, transaction
from tradeloop.store.sql.upsert import upsert


def trade_id(run_id: str, trade: ClosedTrade) -> str:
    return natural_key_id((run_id, trade.symbol, trade.ts_entry, trade.ts_exit), 32)


def write_ledger(
    engine: Target, run_id: str, portfolio: Portfolio, closed: Sequence[ClosedTrade], ts: int
) -> None:
    """Replace the run's position rows and add ``closed`` trades, in one transaction."""
    position_rows = [
        {
            "run_id": run_id,
            "symbol": symbol,
            "quantity": position.quantity,
            "avg_price": position.avg_price,
            "realized_pnl": position.realized,
            "ts_updated": ts,
        }
        for symbol, position in sorted(portfolio.positions.items())
    ]
    trade_rows = [
        {
            "trade_id": trade_id(run_id, trade),
            "run_id": run_id,
            "symbol": trade.symbol,
            "quantity": trade.quantity,
            "entry_price": trade.entry_price,
            "exit_price": trade.exit_price,
            "ts_entry": trade.ts_entry,
            "ts_exit": trade.ts_exit,
            "pnl": trade.pnl,
            "commission": trade.commission,
        }
        for trade in closed
    ]
    with transaction(engine) as connection:
        upsert(connection, positions, position_rows, ["run_id", "symbol"])
        upsert(connection, trades, trade_rows, ["trade_id"], update=False)
