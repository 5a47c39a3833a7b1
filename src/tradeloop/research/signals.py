"""Signals: what decides an entry, bin by bin.

A signal is a function ``(bins, gold, params) -> int8 array`` (one value per bin: +1 go
long, -1 go short, 0 nothing) of the dataset's bins (``mid``, ``valid``, ...) and their
gold features (``features/book/gold.py``). It fires on the bin where its condition starts
(a crossing), not on every bin it holds, and never on an invalid bin (mid 0).

- ``composite_threshold`` (``threshold``): +1 when the gold ``composite`` crosses above
  ``threshold``, -1 when it crosses below ``-threshold``.
- ``pressure_vacuum`` (``threshold``): +1 when ``pressure_variant`` and ``vacuum_variant``
  are both above ``threshold`` (liquidity building under the price and leaving above it),
  -1 when both are below ``-threshold``; on the bin it starts.
- ``ema_cross`` (``fast_bins``, ``slow_bins``): EMAs of the mid over valid bins (weight
  ``2 / (n + 1)``); +1 when the fast crosses above the slow, -1 below.
- ``gold_lgbm`` (``horizon_bins``, ``folds``, ``threshold``): LightGBM on the gold
  features, walked forward, decided by its ONNX export (``research/ml_signal.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numba as nb
import numpy as np

from tradeloop.core.errors import ConfigError

Columns = dict[str, np.ndarray]
Signal = Callable[[Columns, Columns, dict[str, float]], np.ndarray]


@nb.njit(cache=True, nogil=True)
def _onsets_kernel(condition: np.ndarray, valid: np.ndarray, out: np.ndarray) -> None:
    before = False
    for i in range(condition.size):
        if valid[i]:
            now = condition[i]
            out[i] = now and not before
            before = now


def onsets(condition: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """True where ``condition`` holds on a valid bin and did not on the valid bin before."""
    out = np.zeros(condition.size, dtype=np.bool_)
    _onsets_kernel(
        np.ascontiguousarray(condition, dtype=np.bool_),
        np.ascontiguousarray(valid, dtype=np.bool_),
        out,
    )
    return out


def composite_threshold(bins: Columns, gold: Columns, params: dict[str, float]) -> np.ndarray:
    threshold = params["threshold"]
    valid = bins["valid"]
    out = np.zeros(valid.size, dtype=np.int8)
    out[onsets(gold["composite"] > threshold, valid)] = 1
    out[onsets(gold["composite"] < -threshold, valid)] = -1
    return out


def pressure_vacuum(bins: Columns, gold: Columns, params: dict[str, float]) -> np.ndarray:
    threshold = params["threshold"]
    valid = bins["valid"]
    pressure, vacuum = gold["pressure_variant"], gold["vacuum_variant"]
    out = np.zeros(valid.size, dtype=np.int8)
    out[onsets((pressure > threshold) & (vacuum > threshold), valid)] = 1
    out[onsets((pressure < -threshold) & (vacuum < -threshold), valid)] = -1
    return out


@nb.njit(cache=True, nogil=True)
def _emas(mid: np.ndarray, valid: np.ndarray, fast: float, slow: float) -> np.ndarray:
    out = np.zeros((2, mid.size))
    a_fast, a_slow = 2.0 / (fast + 1.0), 2.0 / (slow + 1.0)
    f, s, started = 0.0, 0.0, False
    for i in range(mid.size):
        if valid[i]:
            if not started:
                f, s, started = mid[i], mid[i], True
            else:
                f += a_fast * (mid[i] - f)
                s += a_slow * (mid[i] - s)
        out[0, i], out[1, i] = f, s
    return out


def ema_cross(bins: Columns, gold: Columns, params: dict[str, float]) -> np.ndarray:
    fast, slow = params["fast_bins"], params["slow_bins"]
    if not 1 <= fast < slow:
        raise ConfigError(
            f"ema_cross: fast_bins {fast:g} must be at least 1 and below slow_bins {slow:g}"
        )
    valid = np.asarray(bins["valid"], dtype=np.bool_)
    emas = _emas(np.asarray(bins["mid"], dtype=np.float64), valid, float(fast), float(slow))
    out = np.zeros(valid.size, dtype=np.int8)
    out[onsets(emas[0] > emas[1], valid)] = 1
    out[onsets(emas[0] < emas[1], valid)] = -1
    return out


SIGNAL_FUNCTIONS: dict[str, Signal] = {
    "composite_threshold": composite_threshold,
    "pressure_vacuum": pressure_vacuum,
    "ema_cross": ema_cross,
}


def signal_function(name: str) -> Signal:
    """The signal called ``name`` (the ML one imported only when asked for: LightGBM and
    ONNX Runtime are heavy)."""
    if name == "gold_lgbm":
        from tradeloop.research.ml_signal import gold_lgbm

        return gold_lgbm
    return SIGNAL_FUNCTIONS[name]
