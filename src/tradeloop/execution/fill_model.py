"""Empirical fill curves from an account's own orders and fills (``tradeloop tools
calibrate-fills``), and the Monte-Carlo execution simulation that uses them
(``tradeloop tools simulate-execution``).

A fill curve is, per side, the share of limit orders that received a first fill within
``h`` ms of being sent (event time), for each horizon ``h``; orders still open at the end
of the data are censored (they count only at horizons they lived through). The share that
filled in full, and the mean filled fraction, come with it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

HORIZONS_MS: tuple[int, ...] = (100, 250, 500, 1_000, 2_000, 5_000, 10_000)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_order_id: str
    side: str  # BUY | SELL
    quantity: float
    ts_sent: int
    ts_last: int  # last time its state was known (for censoring)


@dataclass(frozen=True, slots=True)
class FillRecord:
    client_order_id: str
    quantity: float
    ts: int


def fill_curves(
    orders: Iterable[OrderRecord],
    fills: Iterable[FillRecord],
    horizons_ms: Sequence[int] = HORIZONS_MS,
) -> dict[str, Any]:
    first: dict[str, int] = {}
    filled: dict[str, float] = {}
    for fill in fills:
        first[fill.client_order_id] = min(fill.ts, first.get(fill.client_order_id, fill.ts))
        filled[fill.client_order_id] = filled.get(fill.client_order_id, 0.0) + fill.quantity
    by_side: dict[str, list[OrderRecord]] = {}
    for order in orders:
        by_side.setdefault(order.side.upper(), []).append(order)
    report: dict[str, Any] = {"horizons_ms": list(horizons_ms), "sides": {}}
    for side, items in sorted(by_side.items()):
        curve = []
        for h in horizons_ms:
            horizon = h * 1_000_000
            at_risk = [o for o in items if o.client_order_id in first
                       or o.ts_last - o.ts_sent >= horizon]  # fmt: skip
            hits = sum(
                1 for o in at_risk
                if o.client_order_id in first and first[o.client_order_id] - o.ts_sent <= horizon
            )  # fmt: skip
            curve.append(None if not at_risk else hits / len(at_risk))
        fractions = [min(1.0, filled.get(o.client_order_id, 0.0) / o.quantity) for o in items]
        report["sides"][side] = {
            "orders": len(items),
            "filled_any": sum(o.client_order_id in first for o in items),
            "filled_full": sum(f >= 1.0 - 1e-12 for f in fractions),
            "mean_filled_fraction": float(np.mean(fractions)) if fractions else None,
            "fill_probability": curve,
        }
    return report


def curve_probability(report: dict[str, Any], side: str, horizon_ms: float) -> float:
    """P(a first fill within ``horizon_ms``) from a calibrated report, interpolated
    between its horizons (0 before the first, flat after the last)."""
    entry = report["sides"].get(side.upper())
    if entry is None:
        raise ValueError(f"the fill curves hold no {side.upper()} orders")
    xs = [h for h, p in zip(report["horizons_ms"], entry["fill_probability"], strict=True)
          if p is not None]  # fmt: skip
    ys = [p for p in entry["fill_probability"] if p is not None]
    if not xs:
        return 0.0
    return float(np.interp(horizon_ms, [0.0, *xs], [0.0, *ys]))


@dataclass(frozen=True, slots=True)
class SimulationParams:
    runs: int = 200
    orders_per_run: int = 100
    latency_ms_median: float = 5.0
    latency_sigma: float = 0.6  # lognormal shape
    shock_probability: float = 0.02  # per order: a jump against it while in flight
    shock_bps: float = 10.0
    hold_ms: int = 1_000
    fee_bps: float = 2.0
    seed: int = 7


def simulate_execution(
    ts: np.ndarray, mid: np.ndarray, params: SimulationParams, fill: dict[str, Any] | None
) -> dict[str, Any]:
    """Monte Carlo over a tape (event times ``ts`` in ns, mids): each run sends
    ``orders_per_run`` entries at random instants (random sides); each arrives after a
    lognormal latency, may meet a shock against it, fills with the calibrated probability
    within the hold (always, without curves) and is marked out ``hold_ms`` later. The
    report gives, per run, fill rate and mean net markout (bps, after fees), then their
    percentiles across runs."""
    if ts.size < 2 or ts.size != mid.size:
        raise ValueError("the tape needs at least two points with a mid each")
    rng = np.random.default_rng(params.seed)
    hold = params.hold_ms * 1_000_000
    last_start = int(np.searchsorted(ts, ts[-1] - hold, side="right")) - 1
    if last_start < 1:
        raise ValueError(f"the tape is shorter than the hold of {params.hold_ms} ms")
    fill_rates, markouts, latencies = [], [], []
    for _ in range(params.runs):
        start = rng.integers(0, last_start, size=params.orders_per_run)
        sign = rng.choice([-1.0, 1.0], size=params.orders_per_run)
        latency = rng.lognormal(math.log(params.latency_ms_median), params.latency_sigma,
                                size=params.orders_per_run)  # fmt: skip
        shocked = rng.random(params.orders_per_run) < params.shock_probability
        arrive = np.searchsorted(ts, ts[start] + (latency * 1e6).astype(np.int64))
        arrive = np.minimum(arrive, ts.size - 1)
        price = mid[arrive] * (1 - sign * shocked * params.shock_bps / 1e4)
        if fill is None:
            fills = np.ones(params.orders_per_run, dtype=bool)
        else:
            p = np.array([curve_probability(fill, "BUY" if s > 0 else "SELL", params.hold_ms)
                          for s in sign])  # fmt: skip
            fills = rng.random(params.orders_per_run) < p
        exit_index = np.minimum(np.searchsorted(ts, ts[arrive] + hold), ts.size - 1)
        net = sign * (mid[exit_index] - price) / price * 1e4 - 2 * params.fee_bps
        fill_rates.append(float(fills.mean()))
        markouts.append(float(net[fills].mean()) if fills.any() else math.nan)
        latencies.extend(latency.tolist())
    return {
        "params": dataclasses.asdict(params),
        "tape_points": int(ts.size),
        "fill_rate": _percentiles(fill_rates),
        "net_markout_bps": _percentiles([m for m in markouts if math.isfinite(m)]),
        "latency_ms": _percentiles(latencies),
    }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p5": None, "p50": None, "p95": None, "mean": None}
    array = np.asarray(values, dtype=float)
    return {
        "p5": float(np.percentile(array, 5)),
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "mean": float(array.mean()),
    }
