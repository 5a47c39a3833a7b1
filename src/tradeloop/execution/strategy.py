"""Strategies return commands; they never call a venue (same code in every mode)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import numpy as np
import polars as pl

from tradeloop.core.ids import natural_key_id
from tradeloop.domain.enums import Side
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.crossing import sma_sides
from tradeloop.execution.frames import sorted_by


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may know when deciding: its position in the bar's symbol (with the
    average entry price and when it was opened), cash, equity and the run (or paper
    account) id that makes its order ids deterministic."""

    position: Decimal
    cash: Decimal
    equity: Decimal
    run_id: str
    entry_price: Decimal = Decimal(0)
    opened_ts: int = 0


class Strategy(Protocol):
    """Decide at a bar's close; orders fill no earlier than the next bar."""

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        """Return the orders to submit (possibly none)."""
        ...


def make_order(
    context: StrategyContext, bar: BarView, side: Side, quantity: Decimal, reason: str
) -> SubmitOrder:
    """A market order with a client id derived from (run, symbol, ts, side): idempotent."""
    client_id = natural_key_id((context.run_id, bar.symbol, bar.ts, side.value, reason), 24)
    return SubmitOrder(
        client_order_id=client_id,
        symbol=bar.symbol,
        side=side,
        quantity=quantity,
        ts_init=bar.ts,
        reason=reason,
    )


class SmaCrossStrategy:
    """Long when the fast SMA crosses above the slow one; flat on the cross below. Buys
    ``quantity`` units, or (``quantity`` None) whole units worth ``fraction`` of equity.
    Reads ``sma_side`` (-1, 0, +1: the fast SMA below, equal to, above the slow one,
    decided exactly, see ``execution.crossing``) and the symbol's previous bar's side
    ``sma_side_prev`` from ``bar.extra``: it keeps no state, so it may be shown only the
    bars ``active_bars`` marks (and a restart needs no warm-up). ``sma_fast``/``sma_slow``
    are there for reports only; no decision reads them."""

    COLUMNS = ("sma_fast", "sma_slow", "sma_side", "sma_side_prev")

    def __init__(self, quantity: Decimal | None, fraction: Decimal = Decimal(1)) -> None:
        if quantity is None and not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.quantity = quantity
        self.fraction = fraction

    @staticmethod
    def with_indicators(bars: pl.DataFrame, fast: int, slow: int) -> pl.DataFrame:
        """``bars`` (sorted by symbol, ts) plus the columns the strategy reads."""
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
        ordered = sorted_by(bars, "symbol", "ts")
        close = ordered["close"].cast(pl.Float64).to_numpy()
        sides = np.full(close.size, np.nan)
        # where the symbol changes, without a Python string per row
        changes = ordered.select(pl.col("symbol").rle_id().diff().fill_null(1) != 0)
        bounds = np.append(np.flatnonzero(changes.to_series().to_numpy()), close.size)
        for first, end in itertools.pairwise(bounds):
            sides[first:end] = sma_sides(close[first:end], fast, slow)
        with_sma = ordered.with_columns(
            pl.col("close").rolling_mean(fast).over("symbol").alias("sma_fast"),
            pl.col("close").rolling_mean(slow).over("symbol").alias("sma_slow"),
            pl.Series("sma_side", sides).fill_nan(None),
        )
        return with_sma.with_columns(
            pl.col("sma_side").shift(1).over("symbol").alias("sma_side_prev"),
        )

    @staticmethod
    def active_bars(bars: pl.DataFrame) -> np.ndarray:
        """True where ``on_bar`` may order: the crosses. On every other bar it returns
        nothing whatever the position, so the engine may mark those in bulk."""
        side, side_prev = pl.col("sma_side"), pl.col("sma_side_prev")
        crossed = ((side_prev < 0) & (side > 0)) | ((side_prev > 0) & (side < 0))
        return bars.select(crossed.fill_null(False)).to_series().to_numpy()

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        side, side_prev = bar.extra.get("sma_side"), bar.extra.get("sma_side_prev")
        if side is None or side_prev is None:
            return []
        crossed_up = side_prev < 0 < side
        crossed_down = side < 0 < side_prev
        if crossed_up and context.position == 0:
            quantity = self.quantity
            if quantity is None:
                quantity = (
                    context.equity * self.fraction / Decimal(repr(bar.close))
                ).to_integral_value(rounding="ROUND_FLOOR")
            if quantity <= 0:
                return []
            return [make_order(context, bar, Side.BUY, quantity, "sma_cross_up")]
        if crossed_down and context.position > 0:
            return [make_order(context, bar, Side.SELL, context.position, "sma_cross_down")]
        return []


class RiskOffStrategy:
    """Hold the symbol while the model's drawdown probability is low; step aside when high.

    Reads ``p_signal`` from ``bar.extra``; with no score for a bar it does nothing.
    """

    def __init__(self, exit_probability: float, exposure_fraction: float) -> None:
        if not 0 < exit_probability < 1:
            raise ValueError(f"exit_probability must be in (0, 1), got {exit_probability}")
        if not 0 < exposure_fraction <= 1:
            raise ValueError(f"exposure_fraction must be in (0, 1], got {exposure_fraction}")
        self.exit_probability = exit_probability
        self.exposure_fraction = Decimal(repr(exposure_fraction))

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        p = bar.extra.get("p_signal")
        if p is None:
            return []
        if p >= self.exit_probability and context.position > 0:
            return [make_order(context, bar, Side.SELL, context.position, "risk_off")]
        if p < self.exit_probability and context.position == 0:
            units = (
                context.equity * self.exposure_fraction / Decimal(repr(bar.close))
            ).to_integral_value(rounding="ROUND_FLOOR")
            if units > 0:
                return [make_order(context, bar, Side.BUY, units, "risk_on")]
        return []
