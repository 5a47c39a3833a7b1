"""Feature drift between a reference (the training window) and a live window: PSI and KS.

PSI bins on the reference's quantiles (so every reference bin holds the same share) and
floors empty bins at a small share, the usual way of keeping ln(0) out; rules of thumb:
< 0.1 stable, 0.1-0.25 moderate, > 0.25 a shift. KS is scipy's two-sample statistic.
Missing values are dropped from both sides; too few values give None, not a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PSI_FLOOR = 1e-4
MIN_VALUES = 20


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    feature: str
    psi: float | None
    ks: float | None
    reference: int
    live: int


def psi(reference: np.ndarray, live: np.ndarray, bins: int = 10) -> float | None:
    ref = _finite(reference)
    cur = _finite(live)
    if ref.size < MIN_VALUES or cur.size < MIN_VALUES:
        return None
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:  # a constant reference: any live value elsewhere is the shift
        same = float(np.mean(cur == ref[0]))
        return _psi_terms(np.array([1.0, 0.0]), np.array([same, 1 - same]))
    inner = edges[1:-1]
    ref_share = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1)
    cur_share = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1)
    return _psi_terms(ref_share / ref.size, cur_share / cur.size)


def _psi_terms(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected, PSI_FLOOR)
    a = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def ks(reference: np.ndarray, live: np.ndarray) -> float | None:
    ref = _finite(reference)
    cur = _finite(live)
    if ref.size < MIN_VALUES or cur.size < MIN_VALUES:
        return None
    from scipy.stats import ks_2samp

    return float(ks_2samp(ref, cur).statistic)


def feature_drift(names: list[str], reference: np.ndarray, live: np.ndarray) -> list[FeatureDrift]:
    """PSI and KS per column of two rows x features matrices."""
    return [
        FeatureDrift(
            feature=name,
            psi=psi(reference[:, i], live[:, i]),
            ks=ks(reference[:, i], live[:, i]),
            reference=int(_finite(reference[:, i]).size),
            live=int(_finite(live[:, i]).size),
        )
        for i, name in enumerate(names)
    ]


def _finite(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]
