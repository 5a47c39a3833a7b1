"""The ML-signal strategy: act on pivot touches the active model scores highly.

Each bar may carry a scored touch event: ``p_signal`` (calibrated P(target) from the
model) and ``signal_side`` (+1: the bar closed above the level, a support touch, so the
trade is long; -1: resistance, short). With target ``broke`` the trade goes through the
level instead, so the direction flips. Decisions are taken at the bar's close and fill on
a later bar (the venue's rule):

- flat, and P >= ``tau_entry``: enter in the signal's direction with ``fraction`` of
  equity (shorts only with ``allow_short``);
- in a position, exit when the move from the average entry reaches ``take_profit_bps``
  or ``-stop_loss_bps``, when ``max_hold_bars`` bars passed since the last signal that
  supported it (time exit), when a new same-direction signal has P < ``tau_hold`` (it
  faded), or when an opposite signal reaches ``tau_entry``.

State is only the time of the last supporting signal per symbol; after a restart it
starts from the position's opening time, so a paper account resumes safely.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tradeloop.domain.enums import Side
from tradeloop.domain.orders import SubmitOrder
from tradeloop.execution.bar_view import BarView
from tradeloop.execution.config import MlSignalConfig
from tradeloop.execution.strategy import StrategyContext, make_order


class MlSignalStrategy:
    """Enter on P >= tau_entry, hold while P >= tau_hold, exit on TP / SL / time."""

    COLUMNS = ("p_signal", "signal_side")

    def __init__(
        self,
        config: MlSignalConfig,
        tau_entry: float,
        tau_hold: float,
        bar_interval_sec: int,
        sizer: Callable[[Decimal, StrategyContext], Decimal] | None = None,
    ) -> None:
        if not 0 < tau_hold <= tau_entry < 1:
            raise ValueError(f"need 0 < tau_hold <= tau_entry < 1, got {tau_hold}, {tau_entry}")
        self.config = config
        self.tau_entry = tau_entry
        self.tau_hold = tau_hold
        hold_bars = config.max_hold_bars or config.horizon_bars
        self.max_hold_ns = hold_bars * bar_interval_sec * 1_000_000_000
        self.flip = -1 if config.target == "broke" else 1
        self._last_signal: dict[str, int] = {}
        self.sizer = sizer or self._fraction_of_equity

    def on_bar(self, bar: BarView, context: StrategyContext) -> list[SubmitOrder]:
        p = bar.extra.get("p_signal")
        side = bar.extra.get("signal_side")
        direction = 0 if p is None or side is None else (1 if side > 0 else -1) * self.flip
        if context.position != 0:
            reason = self._exit_reason(bar, context, p, direction)
            if reason is None:
                return []
            self._last_signal.pop(bar.symbol, None)
            exit_side = Side.SELL if context.position > 0 else Side.BUY
            return [make_order(context, bar, exit_side, abs(context.position), reason)]
        if p is None or direction == 0 or p < self.tau_entry:
            return []
        if direction < 0 and not self.config.allow_short:
            return []
        quantity = self.sizer(Decimal(repr(bar.close)), context)
        if quantity <= 0:
            return []
        self._last_signal[bar.symbol] = bar.ts
        entry = Side.BUY if direction > 0 else Side.SELL
        return [make_order(context, bar, entry, quantity, f"ml_entry_{entry.value.lower()}")]

    def _fraction_of_equity(self, price: Decimal, context: StrategyContext) -> Decimal:
        share = context.equity * Decimal(repr(self.config.fraction))
        return (share / price).to_integral_value(rounding="ROUND_FLOOR")

    def _exit_reason(
        self, bar: BarView, context: StrategyContext, p: float | None, direction: int
    ) -> str | None:
        held = 1 if context.position > 0 else -1
        if context.entry_price > 0:
            move = held * (Decimal(repr(bar.close)) - context.entry_price) / context.entry_price
            move_bps = float(move) * 1e4
            if move_bps >= self.config.take_profit_bps:
                return "ml_take_profit"
            if move_bps <= -self.config.stop_loss_bps:
                return "ml_stop_loss"
        if p is not None and direction == held:
            if p < self.tau_hold:
                return "ml_signal_faded"
            self._last_signal[bar.symbol] = bar.ts
        elif p is not None and direction == -held and p >= self.tau_entry:
            return "ml_opposite_signal"
        last = self._last_signal.get(bar.symbol, context.opened_ts)
        if bar.ts - last >= self.max_hold_ns:
            return "ml_time_exit"
        return None
