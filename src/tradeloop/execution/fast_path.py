"""The research fast path: SMA-crossover signals -> fills -> equity, compiled with Numba.

Same rules as the event-driven engine with ``SmaCrossStrategy`` on the simulated exchange
(decide at a bar's close, fill at the next bar's open with slippage against the order,
commission on every fill, the pre-trade risk limits, buying power at fill time), but in
float64 arrays and with no per-order objects, so a parameter sweep runs thousands of
backtests per second. A test holds it to the engine: same trades, same final equity (1e-9
relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from tradeloop.execution.crossing import fixed_point, needs_wide, sma_sides, window_sums


@dataclass(frozen=True, slots=True)
class FastCosts:
    """Frictions and limits, mirroring ExecutionConfig + RiskConfig."""

    commission_rate: float = 0.0005
    slippage_bps: float = 0.0
    initial_cash: float = 100_000.0
    max_order_notional: float = 10_000_000.0
    max_position_notional: float = 10_000_000.0
    max_gross_leverage: float = 1.0


@dataclass(frozen=True, slots=True)
class FastRun:
    """One run's trades (indices into the bars) and equity at every bar close."""

    entry_index: np.ndarray
    exit_index: np.ndarray
    quantity: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    pnl: np.ndarray  # net of both fills' commissions
    equity: np.ndarray

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if self.equity.size else 0.0


@nb.njit(cache=True)
def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each index (NaN before a full window)."""
    out = np.full(values.size, np.nan)
    total = 0.0
    for i in range(values.size):
        total += values[i]
        if i >= window:
            total -= values[i - window]
        if i >= window - 1:
            out[i] = total / window
    return out


@nb.njit(cache=True)
def _simulate(open_, close, side, units, rate, slip, cash0, max_order, max_pos, lev, record):  # type: ignore[no-untyped-def]
    n = close.size
    cash = cash0
    position = 0.0
    pending = 0.0  # signed units to fill at the next open
    equity = np.empty(n if record else 0)
    entries = np.empty(n, np.int64)
    exits = np.empty(n, np.int64)
    quantities = np.empty(n)
    entry_prices = np.empty(n)
    exit_prices = np.empty(n)
    pnls = np.empty(n)
    trades = 0
    entry_index = -1
    entry_price = 0.0
    entry_cost = 0.0  # cash paid to open, commission included
    have_previous = False
    prev_side = 0.0
    for i in range(n):
        if pending != 0.0:
            if pending > 0:
                price = open_[i] * (1.0 + slip)
                fee = pending * price * rate
                # Buying power at fill time, as the simulated exchange checks it: a gap up
                # the account cannot pay for cancels the entry.
                if pending * price <= lev * (cash - fee):
                    cash -= pending * price + fee
                    position += pending
                    entry_index, entry_price, entry_cost = i, price, pending * price + fee
            else:
                price = open_[i] * (1.0 - slip)
                fee = -pending * price * rate
                cash += -pending * price - fee
                entries[trades] = entry_index
                exits[trades] = i
                quantities[trades] = position
                entry_prices[trades] = entry_price
                exit_prices[trades] = price
                pnls[trades] = (-pending * price - fee) - entry_cost
                trades += 1
                position += pending
            pending = 0.0
        mark = cash + position * close[i]
        if record:
            equity[i] = mark
        now_side = side[i]
        if np.isnan(now_side):
            continue
        if have_previous:
            if prev_side < 0.0 and now_side > 0.0 and position == 0.0:
                after = units * close[i]
                if after <= max_order and after <= max_pos and after <= max(mark, 0.0) * lev:
                    pending = units
            elif prev_side > 0.0 > now_side and 0.0 < position * close[i] <= max_order:
                pending = -position
        prev_side, have_previous = now_side, True
    final = cash + position * close[n - 1] if n else cash0
    return (
        final,
        trades,
        entries[:trades],
        exits[:trades],
        quantities[:trades],
        entry_prices[:trades],
        exit_prices[:trades],
        pnls[:trades],
        equity,
    )


def sma_cross(
    open_: np.ndarray, close: np.ndarray, fast: int, slow: int, units: float, costs: FastCosts
) -> FastRun:
    """One backtest of the SMA crossover, with its trades and equity curve."""
    if not 0 < fast < slow:
        raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
    o, c = np.ascontiguousarray(open_, np.float64), np.ascontiguousarray(close, np.float64)
    result = _simulate(
        o,
        c,
        sma_sides(c, fast, slow),
        float(units),
        costs.commission_rate,
        costs.slippage_bps / 10_000,
        costs.initial_cash,
        costs.max_order_notional,
        costs.max_position_notional,
        costs.max_gross_leverage,
        True,
    )
    _, _, entries, exits, quantities, entry_prices, exit_prices, pnls, equity = result
    return FastRun(entries, exits, quantities, entry_prices, exit_prices, pnls, equity)


@nb.njit(cache=True)
def _pair_sides(sums, windows_index, fast, slow):  # type: ignore[no-untyped-def]
    """The exact sides of one (fast, slow) pair from int64 window sums (see crossing)."""
    sum_fast, sum_slow = sums[windows_index[fast]], sums[windows_index[slow]]
    side = np.empty(sum_fast.size)
    for i in range(side.size):
        if i < slow - 1:
            side[i] = np.nan
        else:
            side[i] = np.sign(sum_fast[i] * slow - sum_slow[i] * fast)
    return side


@nb.njit(parallel=True, cache=True)
def _sweep(  # type: ignore[no-untyped-def]
    o, c, sums, windows_index, fast, slow, units, rate, slip, cash0, max_order, max_pos, lev
):
    finals = np.empty(fast.size)
    counts = np.empty(fast.size, np.int64)
    for k in nb.prange(fast.size):
        result = _simulate(
            o,
            c,
            _pair_sides(sums, windows_index, fast[k], slow[k]),
            units,
            rate,
            slip,
            cash0,
            max_order,
            max_pos,
            lev,
            False,
        )
        finals[k] = result[0]
        counts[k] = result[1]
    return finals, counts


def sma_cross_sweep(
    open_: np.ndarray,
    close: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    units: float,
    costs: FastCosts,
) -> tuple[np.ndarray, np.ndarray]:
    """Final equity and trade count for every (fast[k], slow[k]) pair, in parallel."""
    fast, slow = np.asarray(fast, np.int64), np.asarray(slow, np.int64)
    if np.any(fast <= 0) or np.any(slow <= fast):
        raise ValueError("every pair needs 0 < fast < slow")
    o, c = np.ascontiguousarray(open_, np.float64), np.ascontiguousarray(close, np.float64)
    frictions = (
        float(units),
        costs.commission_rate,
        costs.slippage_bps / 10_000,
        costs.initial_cash,
        costs.max_order_notional,
        costs.max_position_notional,
        costs.max_gross_leverage,
    )
    units_fixed = fixed_point(c)
    if needs_wide(units_fixed, int(fast.max()), int(slow.max())):
        # Prices x windows too large for int64 products: exact sides pair by pair instead.
        runs = [
            _simulate(o, c, sma_sides(c, int(f), int(s)), *frictions, False)
            for f, s in zip(fast, slow, strict=True)
        ]
        return np.array([r[0] for r in runs]), np.array([r[1] for r in runs], np.int64)
    windows = np.unique(np.concatenate([fast, slow]))
    index = np.full(int(windows.max()) + 1, -1, np.int64)
    index[windows] = np.arange(windows.size)
    sums = np.stack([window_sums(units_fixed, int(w)) for w in windows])
    finals, counts = _sweep(o, c, sums, index, fast, slow, *frictions)
    return np.asarray(finals), np.asarray(counts)
