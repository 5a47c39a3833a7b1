"""Rolling correlation of returns between symbols, from the closes the gate is shown."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


class RollingCorrelation:
    """Pearson correlation of simple returns over the last ``window`` common timestamps."""

    def __init__(self, window: int) -> None:
        if window < 3:
            raise ValueError(f"correlation window must be at least 3, got {window}")
        self.window = window
        self._closes: dict[str, OrderedDict[int, float]] = {}

    def observe(self, symbol: str, ts: int, close: float) -> None:
        series = self._closes.setdefault(symbol, OrderedDict())
        series[ts] = close
        while len(series) > self.memory:
            series.popitem(last=False)

    @property
    def memory(self) -> int:
        """Closes kept per symbol: the window, with room for gaps in the other symbols."""
        return 4 * (self.window + 1)

    def __call__(self, a: str, b: str, ts: int) -> float | None:
        first, second = self._closes.get(a), self._closes.get(b)
        if first is None or second is None:
            return None
        common = [t for t in first if t in second and t <= ts][-(self.window + 1) :]
        if len(common) < self.window + 1:
            return None  # not enough shared history: the rule cannot judge yet
        x = np.array([first[t] for t in common])
        y = np.array([second[t] for t in common])
        rx, ry = np.diff(x) / x[:-1], np.diff(y) / y[:-1]
        if rx.std() == 0 or ry.std() == 0:
            return None
        return float(np.corrcoef(rx, ry)[0, 1])
