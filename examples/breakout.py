"""A user strategy for ``tradeloop run --strategy examples.breakout:Breakout``.

Buys when the close breaks above the highest close of the previous 20 bars and sells when
it falls below the lowest. It only returns commands: the engine applies risk, journals and
routes them, in every mode.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from tradeloop import BarView, Side, StrategyContext, SubmitOrder, make_order


class Breakout:
    COLUMNS = ("high_20", "low_20")  # read from bar.extra; prepare() computes them

    @staticmethod
    def prepare(bars: pl.DataFrame) -> pl.DataFrame:
        # shift(1): the channel of the 20 bars *before* this one (no look-ahead).
        previous = pl.col("close").shift(1).over("symbol")
        return bars.sort("symbol", "ts").with_columns(
            previous.rolling_max(20).over("symbol").alias("high_20"),
            previous.rolling_min(20).over("symbol").alias("low_20"),
        )

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        high, low = bar.extra.get("high_20"), bar.extra.get("low_20")
        if high is None or low is None:
            return []
        if context.position == 0 and bar.close > high:
            # 20 % of equity: inside risk.max_position_size (default 0.20), else denied.
            budget = context.equity * Decimal("0.2")
            units = (budget / Decimal(repr(bar.close))).to_integral_value(rounding="ROUND_FLOOR")
            return [make_order(context, bar, Side.BUY, units, "breakout_up")] if units > 0 else []
        if context.position > 0 and bar.close < low:
            return [make_order(context, bar, Side.SELL, context.position, "breakout_down")]
        return []
