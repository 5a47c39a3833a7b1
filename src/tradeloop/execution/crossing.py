"""Which side of the slow moving average the fast one is on, decided exactly.

Float rolling means leave noise of ~1e-16 where the price sits still, so two averages that
are equal on paper compare as unequal at random and a crossover strategy trades fake
crosses up and back down. Here closes are taken at a fixed point of 1e-8 (``DECIMALS``,
finer than any venue's tick) and the comparison ``sum_fast / fast`` vs ``sum_slow / slow``
is made as ``slow * sum_fast`` vs ``fast * sum_slow`` in integers: no rounding at all.

The tie rule (the event engine and the fast path share it): the side is -1 (fast below),
0 (equal) or +1 (fast above); a cross up is side -1 on one bar and +1 on the next, a cross
down the reverse. A bar with equal averages is neither side, so a tie between two bars is
not a cross (like ``backtesting.lib.crossover``, which needs strict inequalities on both
bars).
"""

from __future__ import annotations

import numba as nb
import numpy as np

DECIMALS = 8
_SCALE = 10**DECIMALS
_INT64_SAFE = 2**62


def fixed_point(close: np.ndarray) -> np.ndarray:
    """Closes in units of 1e-8 as int64 (exact for any close below ~9e10)."""
    units: np.ndarray = np.rint(np.asarray(close, np.float64) * _SCALE).astype(np.int64)
    return units


def window_sums(units: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` values at each index (index < window - 1: 0, unused).

    The running total may wrap around int64 on long series; a difference of two wrapped
    totals is still exact as long as the window's own sum fits, which ``needs_wide``
    checks before anyone relies on it.
    """
    with np.errstate(over="ignore"):
        running = np.cumsum(units, dtype=np.int64)
        sums = running.copy()
        sums[window:] = running[window:] - running[:-window]
    return sums


def needs_wide(units: np.ndarray, fast: int, slow: int) -> bool:
    """True when ``slow * sum_fast`` could leave int64 and Python integers must be used."""
    largest = int(np.abs(units).max()) if units.size else 0
    return largest * fast * slow >= _INT64_SAFE


def sides_from_sums(
    sum_fast: np.ndarray, sum_slow: np.ndarray, fast: int, slow: int, wide: bool
) -> np.ndarray:
    """Sign of ``slow * sum_fast - fast * sum_slow`` as int8."""
    if wide:
        left = sum_fast.astype(object) * slow
        right = sum_slow.astype(object) * fast
        difference = left - right
    else:
        difference = sum_fast * slow - sum_slow * fast
    sides: np.ndarray = np.sign(difference).astype(np.int8)
    return sides


def sma_sides(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """Side of SMA(``fast``) against SMA(``slow``) of ``close`` at every bar: -1, 0 or +1
    as float64, NaN until ``slow`` closes are known."""
    if not 0 < fast < slow:
        raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
    close = np.ascontiguousarray(close, np.float64)
    largest = float(np.abs(close).max()) * _SCALE + 1 if close.size else 0.0
    if largest * fast * slow < _INT64_SAFE:
        return _sides_int64(close, fast, slow)  # the common case: one compiled pass
    units = fixed_point(close)
    wide = needs_wide(units, fast, slow)
    if wide:
        # Exact sums in Python integers: the int64 running total could not be trusted.
        running = np.concatenate([[0], np.cumsum(units.astype(object))])
        sum_fast = np.zeros(units.size, object)
        sum_slow = np.zeros(units.size, object)
        sum_fast[fast - 1 :] = running[fast:] - running[: units.size - fast + 1]
        sum_slow[slow - 1 :] = running[slow:] - running[: units.size - slow + 1]
    else:
        sum_fast, sum_slow = window_sums(units, fast), window_sums(units, slow)
    sides = sides_from_sums(sum_fast, sum_slow, fast, slow, wide).astype(np.float64)
    sides[: slow - 1] = np.nan
    return sides


@nb.njit(cache=True)
def _sides_int64(close: np.ndarray, fast: int, slow: int) -> np.ndarray:  # pragma: no cover
    """``sma_sides`` in one pass when every product fits int64 (the caller checks)."""
    n = close.size
    units = np.empty(n, np.int64)
    for i in range(n):
        units[i] = np.int64(np.rint(close[i] * _SCALE))
    out = np.full(n, np.nan)
    sum_fast = np.int64(0)
    sum_slow = np.int64(0)
    for i in range(n):
        sum_fast += units[i]
        sum_slow += units[i]
        if i >= fast:
            sum_fast -= units[i - fast]
        if i >= slow:
            sum_slow -= units[i - slow]
        if i >= slow - 1:
            difference = sum_fast * slow - sum_slow * fast
            out[i] = 1.0 if difference > 0 else (-1.0 if difference < 0 else 0.0)
    return out
