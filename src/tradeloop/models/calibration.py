"""Probability calibration (Platt scaling on the logit), shared by training and serving.

Two numbers per model, stored in its manifest; training and the scorer apply the same
function, so a served probability is exactly the one that was evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class PlattCalibration:
    """p' = sigmoid(slope * logit(p) + intercept); identity is slope 1, intercept 0."""

    slope: float = 1.0
    intercept: float = 0.0

    def apply(self, p: np.ndarray) -> np.ndarray:
        if p.size <= 4:  # a single event: plain floats, same formula, no numpy overhead
            return np.array([self._one(float(v)) for v in np.ravel(p)])
        clipped = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
        z = self.slope * np.log(clipped / (1 - clipped)) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def _one(self, p: float) -> float:
        clipped = min(max(p, _EPS), 1 - _EPS)
        z = self.slope * math.log(clipped / (1 - clipped)) + self.intercept
        return 1.0 / (1.0 + math.exp(-z))

    def as_dict(self) -> dict[str, float]:
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}  # type: ignore[dict-item]

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> PlattCalibration:
        if not data:
            return cls()
        return cls(slope=float(data["slope"]), intercept=float(data["intercept"]))  # type: ignore[arg-type]


def fit_platt(p: np.ndarray, y: np.ndarray) -> PlattCalibration:
    """Fit on out-of-sample predictions ``p`` and outcomes ``y``; identity when one class."""
    if p.size < 20 or np.unique(y).size < 2:
        return PlattCalibration()
    clipped = np.clip(p.astype(np.float64), _EPS, 1 - _EPS)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    model = LogisticRegression(C=1e6, max_iter=1000).fit(logit, y.astype(np.int32))
    return PlattCalibration(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))
