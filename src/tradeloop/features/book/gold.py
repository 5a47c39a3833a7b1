# mypy: disable-error-code="no-untyped-def"
# (the compiled loop takes plain arrays; Numba types them, not annotations)
"""Gold features: the VP force block, computed from the silver grid, one bin at a time.

Silver is what the wire carries; gold is derived from it, by this one module both when a
dataset is generated offline and when a live stream is scored (train/serve parity: the
same code path, the same compiled loop, tested equal bin by bin and whole).

Per valid bin (``mid`` > 0; invalid bins give zeros and leave the state untouched), with
ticks weighted by their distance ``d`` (in ticks) from the mid, ``w = exp(-d / decay_ticks)``,
and ``W`` the sum of the weights:

- ``pressure_variant = (Σ_below w·pressure − Σ_above w·pressure) / W``: liquidity arriving
  under the price (support building) minus above it; positive pushes up;
- ``vacuum_variant = (Σ_above w·vacuum − Σ_below w·vacuum) / W``: liquidity leaving above
  the price (resistance thinning) minus below it; positive pulls up;
- ``composite = (pressure_weight·pressure_variant + vacuum_weight·vacuum_variant) /
  (pressure_weight + vacuum_weight)``;
- ``composite_d1..d3``: the derivative chain of the composite (``derivatives.chain_step``,
  weights ``alpha_d1..d3``);
- ``state5_code`` in -2..2: 0 when ``|composite| < state_threshold``; else its sign ``s``,
  doubled (``2s``) when ``d1`` moves the same way (a force building) and ``s`` when it
  fades;
- ``spectrum_score``: the composite as a z-score against the previous ``spectrum_window``
  valid bins (0 until two are seen, or when they do not vary).

Ticks exactly at the mid count on neither side; ticks the grid could not place (price 0)
are left out.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from pydantic import Field, model_validator

from tradeloop.core.config import FrozenConfig
from tradeloop.core.errors import DataError
from tradeloop.features.book.derivatives import chain_step
from tradeloop.features.book.events import PRICE_SCALE

GOLD_COLS: tuple[str, ...] = (
    "bin_end_ns",
    "valid",
    "mid",
    "pressure_variant",
    "vacuum_variant",
    "composite",
    "composite_d1",
    "composite_d2",
    "composite_d3",
    "state5_code",
    "spectrum_score",
)
# the compiled loop's output layout, column index -> name
_FLOATS = (
    "pressure_variant", "vacuum_variant", "composite", "composite_d1", "composite_d2",
    "composite_d3", "state5_code", "spectrum_score",
)  # fmt: skip


class GoldConfig(FrozenConfig):
    """How the force block weighs and smooths the silver grid."""

    decay_ticks: float = Field(8.0, gt=0, description="distance weight: exp(-ticks / decay)")
    pressure_weight: float = Field(1.0, ge=0, description="weight of pressure in composite")
    vacuum_weight: float = Field(1.0, ge=0, description="weight of vacuum in composite")
    alpha_d1: float = Field(0.3, gt=0, lt=1, description="EMA weight of composite_d1")
    alpha_d2: float = Field(0.3, gt=0, lt=1, description="EMA weight of composite_d2")
    alpha_d3: float = Field(0.3, gt=0, lt=1, description="EMA weight of composite_d3")
    state_threshold: float = Field(
        0.02, gt=0, description="|composite| below it is state 0 (no force)"
    )
    spectrum_window: int = Field(600, ge=2, le=100_000, description="bins of the z-score")

    @model_validator(mode="after")
    def _some_weight(self) -> GoldConfig:
        if self.pressure_weight + self.vacuum_weight <= 0:
            raise ValueError("pressure_weight + vacuum_weight must be above 0")
        return self


@nb.njit(cache=True, nogil=True)
def _gold_bins(price, pressure, vacuum, mid, valid, params, alphas, chain, ring, ring_at, out):
    tick, decay, pw, vw, threshold = params[0], params[1], params[2], params[3], params[4]
    bins, cells = price.shape
    size = ring.size
    for b in range(bins):
        for c in range(out.shape[1]):
            out[b, c] = 0.0
        if not valid[b]:
            continue
        m = mid[b]
        total = 0.0
        p_below, p_above, v_below, v_above = 0.0, 0.0, 0.0, 0.0
        for c in range(cells):
            if price[b, c] == 0:
                continue
            p = price[b, c] / PRICE_SCALE
            w = math.exp(-abs(p - m) / tick / decay)
            total += w
            if p < m:
                p_below += w * pressure[b, c]
                v_below += w * vacuum[b, c]
            elif p > m:
                p_above += w * pressure[b, c]
                v_above += w * vacuum[b, c]
        pv = (p_below - p_above) / total if total > 0 else 0.0
        vv = (v_above - v_below) / total if total > 0 else 0.0
        composite = (pw * pv + vw * vv) / (pw + vw)
        chain_step(chain, 0, composite, alphas)
        state = 0.0
        if abs(composite) >= threshold:
            sign = 1.0 if composite > 0 else -1.0
            state = 2.0 * sign if chain[1, 0] * sign > 0 else sign
        seen = min(ring_at[1], size)
        score = 0.0
        if seen >= 2:
            mean = 0.0
            for i in range(seen):
                mean += ring[i]
            mean /= seen
            var = 0.0
            for i in range(seen):
                var += (ring[i] - mean) ** 2
            std = math.sqrt(var / (seen - 1))
            if std > 0:
                score = (composite - mean) / std
        ring[ring_at[0]] = composite
        ring_at[0] = (ring_at[0] + 1) % size
        ring_at[1] += 1
        out[b, 0], out[b, 1], out[b, 2] = pv, vv, composite
        out[b, 3], out[b, 4], out[b, 5] = chain[1, 0], chain[2, 0], chain[3, 0]
        out[b, 6], out[b, 7] = state, score


class GoldRuntime:
    """The force block of one stream of bins: feed it silver grid rows in time order,
    any number of whole bins at a time; it keeps the chain and the z-score window."""

    def __init__(self, config: GoldConfig, tick_size: float, grid_half_width_ticks: int) -> None:
        self.config = config
        self.cells = 2 * grid_half_width_ticks + 1
        self._params = np.array(
            [tick_size, config.decay_ticks, config.pressure_weight, config.vacuum_weight,
             config.state_threshold],
        )  # fmt: skip
        self._alphas = np.array([config.alpha_d1, config.alpha_d2, config.alpha_d3])
        self._chain = np.zeros((4, 1))
        self._ring = np.zeros(config.spectrum_window)
        self._ring_at = np.zeros(2, dtype=np.int64)

    def update(self, grid: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Gold of each bin in ``grid`` (silver columns, whole bins), one row per bin."""
        rows = len(grid["bin_end_ns"])
        if rows % self.cells:
            raise DataError(
                f"gold: {rows} grid rows are not whole bins of {self.cells} ticks. Fix: feed "
                "the grid of the same instrument file, bin by bin"
            )
        bins = rows // self.cells
        shape = (bins, self.cells)
        ends = grid["bin_end_ns"].reshape(shape)
        if bins and (ends != ends[:, :1]).any():
            raise DataError("gold: a bin's rows have different bin_end_ns (rows out of order)")
        out = np.zeros((bins, 8))
        mid = np.ascontiguousarray(grid["mid"].reshape(shape)[:, 0])
        valid = np.ascontiguousarray(grid["valid"].reshape(shape)[:, 0])
        _gold_bins(
            np.ascontiguousarray(grid["price"].reshape(shape)),
            np.ascontiguousarray(grid["pressure"].reshape(shape)),
            np.ascontiguousarray(grid["vacuum"].reshape(shape)),
            mid, valid, self._params, self._alphas, self._chain, self._ring, self._ring_at, out,
        )  # fmt: skip
        columns: dict[str, np.ndarray] = {
            "bin_end_ns": np.ascontiguousarray(ends[:, 0]),
            "valid": valid.astype(np.bool_),
            "mid": mid.astype(np.float64),
        }
        for index, name in enumerate(_FLOATS):
            columns[name] = out[:, index]
        columns["state5_code"] = columns["state5_code"].astype(np.int8)
        return {name: columns[name] for name in GOLD_COLS}
