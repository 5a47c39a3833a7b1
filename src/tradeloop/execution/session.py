"""One bar at a time through the one order path: the step every mode repeats.

A step offers the bar to the venue (fills are booked once), marks the portfolio, lets the
strategy decide at the bar's close and routes its orders through the engine (risk, order
manager, venue). Backtest, paper and simulate differ only in where bars come from and what
is kept afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from tradeloop.domain.orders import OrderFilled, OrderRejected, SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.engine import TradingEngine
from tradeloop.execution.portfolio import ClosedTrade
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
    """Equity and gross exposure after the bar, and the strategy's decisions at it."""

    equity: Decimal
    gross_exposure: float
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

    def equity(self) -> Decimal:
        return self.engine.portfolio.equity(self.marks)

    def warm_up(self, bar: BarView) -> None:
        """Show the strategy a bar already traded (a restart rebuilding its state); what
        it would order now is dropped, the venue never sees the bar again."""
        self.marks[bar.symbol] = to_decimal(bar.close)
        self.strategy.on_bar(bar, self.context(bar.symbol, self.equity()))

    def step(self, bar: BarView) -> StepResult:
        engine = self.engine
        engine.clock.advance_to(max(bar.ts, engine.clock.now_ns()))
        engine.halt_if_killed(bar.ts)
        fills_before = len(engine.fills)
        engine.on_bar(bar)
        close = to_decimal(bar.close)
        self.marks[bar.symbol] = close
        equity = engine.portfolio.equity(self.marks)
        decisions = []
        for order in self.strategy.on_bar(bar, self.context(bar.symbol, equity)):
            rejected_before = len(engine.rejected)
            sent = engine.submit(order, close, equity, engine.clock.now_ns())
            denial = ""
            if len(engine.rejected) > rejected_before:
                denial = engine.rejected[-1].reason
            elif not sent:
                denial = "DUPLICATE: this order id was decided before"
            decisions.append(Decision(order, sent, denial))
        return StepResult(
            equity=equity,
            gross_exposure=engine.portfolio.gross_exposure(self.marks, equity),
            decisions=decisions,
            fills=len(engine.fills) - fills_before,
        )

    @property
    def rejected(self) -> list[OrderRejected]:
        return self.engine.rejected


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Equity per timestamp, closed trades, fills and the orders risk denied."""

    equity: pl.DataFrame
    trades: list[ClosedTrade]
    fills: list[OrderFilled]
    rejected: list[OrderRejected]
    final_equity: Decimal
    initial_cash: Decimal


def run_backtest(
    bars: pl.DataFrame,
    strategy: Strategy,
    engine: TradingEngine,
    *,
    run_id: str,
    extra_columns: tuple[str, ...] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Replay ``bars`` (any symbols) in ts order through ``engine`` on its SimClock."""
    session = TradingSession(engine, strategy, run_id)
    initial_cash = engine.portfolio.cash
    equity_ts: list[int] = []
    equity_values: list[float] = []
    exposure_values: list[float] = []
    total = bars.height
    for index, bar in enumerate(bar_views(bars, extra_columns)):
        step = session.step(bar)
        if equity_ts and equity_ts[-1] == bar.ts:
            equity_values[-1] = float(step.equity)
            exposure_values[-1] = step.gross_exposure
        else:
            equity_ts.append(bar.ts)
            equity_values.append(float(step.equity))
            exposure_values.append(step.gross_exposure)
        if on_progress and (index % 500 == 0 or index == total - 1):
            on_progress(index + 1, total)
    final = session.equity() if session.marks else initial_cash
    return BacktestResult(
        equity=pl.DataFrame(
            {"ts": equity_ts, "equity": equity_values, "gross_exposure": exposure_values},
            schema={"ts": pl.Int64, "equity": pl.Float64, "gross_exposure": pl.Float64},
        ),
        trades=list(engine.portfolio.closed_trades),
        fills=list(engine.fills),
        rejected=list(engine.rejected),
        final_equity=final,
        initial_cash=initial_cash,
    )
