"""A backtest's equity and gross-exposure curves from its ledger trail, in one compiled
pass over the bars: no per-symbol temporaries of the run's length (1M bars would need
several 8 MB arrays per held symbol), the same arithmetic, in the same order, as a
vectorised ``cash + sum(quantity x latest close)`` in ascending symbol code."""

from __future__ import annotations

import numba as nb
import numpy as np


def ledger_curves(
    codes: np.ndarray,
    close: np.ndarray,
    starts: list[int],
    cash: list[float],
    quantities: list[dict[int, float]],
    symbols: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Equity and gross exposure / equity at every bar. Record ``r`` (cash, signed
    quantity per symbol code) holds from bar ``starts[r]`` until the next record."""
    pointer = np.zeros(len(quantities) + 1, np.int64)
    held_codes: list[int] = []
    held_quantities: list[float] = []
    for r, record in enumerate(quantities):
        for code in sorted(record):
            held_codes.append(code)
            held_quantities.append(record[code])
        pointer[r + 1] = len(held_codes)
    curves: tuple[np.ndarray, np.ndarray] = _curves(
        np.ascontiguousarray(codes, np.int64),
        np.ascontiguousarray(close, np.float64),
        np.asarray(starts, np.int64),
        np.asarray(cash, np.float64),
        pointer,
        np.asarray(held_codes, np.int64),
        np.asarray(held_quantities, np.float64),
        symbols,
    )
    return curves


@nb.njit(cache=True)
def _curves(  # type: ignore[no-untyped-def]  # pragma: no cover
    codes, close, starts, cash, pointer, held_codes, held_quantities, symbols
):
    n = codes.size
    equity = np.empty(n)
    exposure = np.empty(n)
    mark = np.zeros(symbols)
    record = -1
    first = 0
    last = 0
    for i in range(n):
        mark[codes[i]] = close[i]
        while record + 1 < starts.size and starts[record + 1] <= i:
            record += 1
            first, last = pointer[record], pointer[record + 1]
        value = cash[record]
        gross = 0.0
        for j in range(first, last):
            position = held_quantities[j] * mark[held_codes[j]]
            value = value + position
            gross += abs(position)
        equity[i] = value
        exposure[i] = gross / value if value > 0 else 0.0
    return equity, exposure
