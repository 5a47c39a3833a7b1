"""One bar at a time through the one order path: the step every mode repeats.

A step offers the bar to the venue (fills are booked once), marks the portfolio, lets the
strategy decide at the bar's close and routes its orders through the engine (risk, order
manager, venue). Backtest, paper and simulate differ only in where bars come from and what
is kept afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from tradeloop.domain.enums import Side
from tradeloop.domain.order_lifecycle import client_order_id
from tradeloop.domain.orders import OrderRejected, SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.engine import TradingEngine
from tradeloop.execution.strategy import Strategy, StrategyContext
from tradeloop.execution.venue import to_decimal

BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Decision:
    """An order a strategy asked for, and what the order path did with it."""

    order: SubmitOrder
    sent: bool
    denial: str = ""


@dataclass(frozen=True, slots=True)
class StepResult:
    """Equity after the bar, and the strategy's decisions at it."""

    equity: Decimal
    decisions: list[Decision] = field(default_factory=list)
    fills: int = 0


def bar_views(bars: pl.DataFrame, extra_columns: Sequence[str] = ()) -> Iterator[BarView]:
    """``bars`` (sorted by ts, symbol) as BarViews carrying ``extra_columns``."""
    columns = [*BAR_COLUMNS, *extra_columns]
    for row in bars.sort("ts", "symbol").select(columns).iter_rows():
        yield BarView(
            symbol=row[0],
            ts=row[1],
            open=row[2],
            high=row[3],
            low=row[4],
            close=row[5],
            volume=row[6],
            extra=dict(zip(extra_columns, row[7:], strict=True)),
        )


class TradingSession:
    """A strategy on an engine, stepped bar by bar; keeps the latest mark per symbol."""

    def __init__(self, engine: TradingEngine, strategy: Strategy, run_id: str) -> None:
        self.engine = engine
        self.strategy = strategy
        self.run_id = run_id
        self.marks: dict[str, Decimal] = {}
        self._trims: dict[str, str] = {}  # symbol -> client id of its last breach trim

    def context(self, symbol: str, equity: Decimal) -> StrategyContext:
        portfolio = self.engine.portfolio
        entry_price, opened_ts = portfolio.entry(symbol)
        return StrategyContext(
            position=portfolio.quantity(symbol),
            cash=portfolio.cash,
            equity=equity,
            run_id=self.run_id,
            entry_price=entry_price,
            opened_ts=opened_ts,
        )

    def valued_marks(self) -> dict[str, Decimal]:
        """A price for every held symbol: the latest close seen, else (a restart, before
        the symbol's first bar arrives) its average entry price."""
        portfolio = self.engine.portfolio
        unseen = {
            symbol: position.avg_price
            for symbol, position in portfolio.positions.items()
            if position.quantity and symbol not in self.marks
        }
        return {**self.marks, **unseen} if unseen else self.marks

    def equity(self) -> Decimal:
        return self.engine.portfolio.equity(self.valued_marks())

    def warm_up(self, bar: BarView) -> None:
        """Show the strategy a bar already traded (a restart rebuilding its state); what
        it would order now is dropped, the venue never sees the bar again."""
        self.marks[bar.symbol] = to_decimal(bar.close)
        self.engine.gate.observe_close(bar.symbol, bar.ts, bar.close)
        self.strategy.on_bar(bar, self.context(bar.symbol, self.equity()))

    def step(self, bar: BarView) -> StepResult:
        engine = self.engine
        engine.clock.advance_to(max(bar.ts, engine.clock.now_ns()))
        engine.halt_if_killed(bar.ts)
        fills_before = len(engine.fills)
        engine.on_bar(bar)
        close = to_decimal(bar.close)
        self.marks[bar.symbol] = close
        marks = self.valued_marks()
        equity = engine.portfolio.equity(marks)
        engine.gate.on_equity(bar.ts, equity)  # day roll, daily loss limit
        engine.gate.observe_close(bar.symbol, bar.ts, bar.close)  # correlation limit
        decisions = []
        trim = self._breach_trim(bar, close, equity)
        if trim is not None:
            sent = engine.submit(trim, close, equity, engine.clock.now_ns(), marks)
            denial = "" if sent else (engine.rejected[-1].reason if engine.rejected else "")
            decisions.append(Decision(trim, sent, denial))
        for order in self.strategy.on_bar(bar, self.context(bar.symbol, equity)):
            rejected_before = len(engine.rejected)
            sent = engine.submit(order, close, equity, engine.clock.now_ns(), marks)
            denial = ""
            if len(engine.rejected) > rejected_before:
                denial = engine.rejected[-1].reason
            elif not sent:
                denial = "DUPLICATE: this order id was decided before"
            decisions.append(Decision(order, sent, denial))
        return StepResult(
            equity=equity,
            decisions=decisions,
            fills=len(engine.fills) - fills_before,
        )

    def _breach_trim(self, bar: BarView, close: Decimal, equity: Decimal) -> SubmitOrder | None:
        """The order that cuts a position grown past its limit (the position-limit circuit
        breaker), unless one is still working."""
        engine = self.engine
        position = engine.portfolio.positions.get(bar.symbol)
        if position is None or position.quantity == 0:
            return None
        change = engine.gate.breach_reduction(bar.symbol, position.quantity, close, equity)
        if change is None:
            return None
        working = self.engine.orders.journal.get(self._trims.get(bar.symbol, ""))
        if working is not None and not working.is_terminal:
            return None
        order = SubmitOrder(
            client_order_id=client_order_id("risk", bar.symbol, bar.ts, "breach_reduce"),
            symbol=bar.symbol,
            side=Side.BUY if change > 0 else Side.SELL,
            quantity=abs(change),
            ts_init=bar.ts,
            reason=f"position_breach_reduce: above max_position_size at {close}",
        )
        self._trims[bar.symbol] = order.client_order_id
        return order

    @property
    def rejected(self) -> list[OrderRejected]:
        return self.engine.rejected
