"""The bars a sparse backtest does not step, shown to the risk rules that watch them.

Between two bars where something can trade (the strategy's active bars, or any bar while
an order rests) cash and positions do not change, so every skipped bar's equity is cash
plus the held quantities at the latest closes: one NumPy pass. The gate takes that curve
whole (day roll and daily loss limits, decided exactly where it matters), the correlation
tracker its closes, and the first bar where a position may have grown past its breach
tolerance is handed back to be stepped in full, so the circuit breaker trims it there.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tradeloop.execution.portfolio import Portfolio
from tradeloop.execution.venue import to_decimal
from tradeloop.risk.gate import RiskGate


class QuietBars:
    """Feeds skipped rows of one ordered bar table to ``gate``."""

    def __init__(
        self,
        gate: RiskGate,
        portfolio: Portfolio,
        names: np.ndarray,
        codes: np.ndarray,
        rows_of: list[np.ndarray],
        ts: np.ndarray,
        close: np.ndarray,
    ) -> None:
        self.gate = gate
        self.portfolio = portfolio
        self.names = names
        self.codes = codes
        self.rows_of = rows_of
        self.ts = ts
        self.close = close
        self.days = gate.local_day_numbers(ts)

    def show(self, first: int, end: int) -> int:
        """Show rows ``[first, end)`` to the gate; returns the row the full step must
        resume at: ``end``, or an earlier row where the breach trim may fire."""
        if end <= first:
            return end
        cash = self.portfolio.cash
        held = {
            int(np.searchsorted(self.names, symbol)): position.quantity
            for symbol, position in self.portfolio.positions.items()
            if position.quantity
        }
        if self.names.size == 1:
            return self._show_one(first, end, cash, held.get(0))
        rows = np.arange(first, end)
        codes = self.codes[first:end]
        equity = np.full(rows.size, float(cash))
        values = np.zeros(rows.size)
        last_rows: dict[int, np.ndarray] = {}
        for code, quantity in held.items():
            own = self.rows_of[code]
            before = np.searchsorted(own, first) - 1  # the latest bar of it before the span
            seen = np.where(codes == code, rows, -1)
            seen[0] = max(seen[0], int(own[before]) if before >= 0 else -1)
            seen = np.maximum.accumulate(seen)
            last_rows[code] = seen
            marked = np.where(seen >= 0, self.close[np.maximum(seen, 0)], 0.0)
            equity += float(quantity) * marked
            values = np.where(codes == code, abs(float(quantity)) * self.close[rows], values)
        breaches = np.flatnonzero(self.gate.breach_screen(values, equity))
        stop = int(first + breaches[0]) if breaches.size else end
        count = stop - first

        def exact(k: int) -> Decimal:
            value = cash
            for code, quantity in held.items():
                row = int(last_rows[code][k])
                value += quantity * to_decimal(self.close[row])
            return value

        self.gate.on_equity_span(self.ts[first:stop], self.days[first:stop], equity[:count], exact)
        if self.gate.tracker is not None:
            for code in np.unique(codes[:count]):
                mine = rows[:count][codes[:count] == code]
                self.gate.observe_closes(str(self.names[code]), self.ts[mine], self.close[mine])
        return stop

    def _show_one(self, first: int, end: int, cash: Decimal, quantity: Decimal | None) -> int:
        """``show`` for a table of one symbol: every row is its own mark."""
        closes = self.close[first:end]
        if quantity is None:
            equity = np.full(end - first, float(cash))
            stop = end
        else:
            value = float(quantity) * closes
            equity = float(cash) + value
            breaches = np.flatnonzero(self.gate.breach_screen(np.abs(value), equity))
            stop = int(first + breaches[0]) if breaches.size else end

        def exact(k: int) -> Decimal:
            if quantity is None:
                return cash
            return cash + quantity * to_decimal(self.close[first + k])

        count = stop - first
        self.gate.on_equity_span(self.ts[first:stop], self.days[first:stop], equity[:count], exact)
        if self.gate.tracker is not None:
            name = str(self.names[0])
            self.gate.observe_closes(name, self.ts[first:stop], self.close[first:stop])
        return stop
