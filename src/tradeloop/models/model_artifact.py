"""The one ML line's shared steps: out-of-sample predictions on walk-forward folds, and a
fitted model exported to ONNX with its parity check and the probe rows the server re-checks.

Every model tradeloop trains (the demo's direction classifier, each pivot-event model)
takes these steps and is written as a manifest entry of the same shape, so the registry,
the governance gates and the scorer (``serving.model_set.load_model_set``) treat them
alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeloop.models.calibration import PlattCalibration
from tradeloop.models.onnx_export import (
    PARITY_TOLERANCE,
    check_parity,
    check_regression_parity,
    export_lightgbm,
    export_sklearn,
)
from tradeloop.models.walk_forward import Fold

PROBE_ROWS = 16  # rows whose native outputs travel in the manifest, re-checked at every load

Fit = Callable[[np.ndarray, np.ndarray], Any]


@dataclass(frozen=True, slots=True)
class FoldPrediction:
    """One fold's out-of-sample rows, the model's prediction on them (P(class 1) or the
    regression value) and the naive reference (the training base rate or median)."""

    rows: np.ndarray
    prediction: np.ndarray
    reference: np.ndarray


def out_of_sample(
    fit: Fit,
    classify: bool,
    features: np.ndarray,
    y: np.ndarray,
    folds: Sequence[Fold],
    on_fold: Callable[[int, int], None] | None = None,
) -> list[FoldPrediction]:
    """Fit on each fold's training rows, predict its test rows."""
    predictions = []
    for number, fold in enumerate(folds, start=1):
        model = fit(features[fold.train], y[fold.train])
        test = features[fold.test]
        if classify:
            prediction = np.asarray(model.predict_proba(test))[:, 1]
            reference = np.full(fold.test.size, y[fold.train].mean())
        else:
            prediction = np.asarray(model.predict(test))
            reference = np.full(fold.test.size, np.median(y[fold.train]))
        predictions.append(FoldPrediction(fold.test, prediction, reference))
        if on_fold is not None:
            on_fold(number, len(folds))
    return predictions


@dataclass(frozen=True, slots=True)
class ExportedModel:
    """A fitted model as ONNX bytes, with the evidence that they serve what was trained."""

    onnx_bytes: bytes
    parity_max_abs: float
    parity_tolerance: float
    probe: dict[str, list[Any]]


def export_fitted(
    model: Any, algorithm: str, classify: bool, features: np.ndarray, y: np.ndarray
) -> ExportedModel:
    """ONNX bytes of ``model`` (LightGBM or a scikit-learn pipeline), parity-checked on
    every training row (DataError when the export would serve something else), and
    ``PROBE_ROWS`` rows with their native outputs."""
    exporter = export_lightgbm if algorithm == "lightgbm" else export_sklearn
    onnx_bytes = exporter(model, features.shape[1])
    if classify:
        tolerance = PARITY_TOLERANCE
        parity = check_parity(model, onnx_bytes, features)
    else:
        tolerance = PARITY_TOLERANCE * max(float(np.std(y)), 1.0)
        parity = check_regression_parity(model, onnx_bytes, features, tolerance)
    picked = np.linspace(0, len(features) - 1, min(PROBE_ROWS, len(features))).astype(int)
    sample = features[picked]
    expected = (
        np.asarray(model.predict_proba(sample))[:, 1]
        if classify
        else np.asarray(model.predict(sample))
    )
    probe: dict[str, list[Any]] = {
        "features": [[None if np.isnan(v) else float(v) for v in row] for row in sample],
        "expected": [float(v) for v in expected],
    }
    return ExportedModel(onnx_bytes, parity, tolerance, probe)


def model_entry(
    exported: ExportedModel,
    *,
    algorithm: str,
    classify: bool,
    target: str,
    horizon: int,
    calibration: PlattCalibration | None = None,
    **evidence: Any,
) -> dict[str, Any]:
    """The manifest entry of one model file: what the scorer needs to serve it (kind,
    target, horizon, calibration, probe) and the evidence (metrics, baseline, ...)."""
    entry: dict[str, Any] = {
        "kind": f"{algorithm}-" + ("classifier" if classify else "regressor"),
        "algorithm": algorithm,
        "target": target,
        "horizon_bars": horizon,
        "parity_max_abs": exported.parity_max_abs,
        "parity_tolerance": exported.parity_tolerance,
        "probe": exported.probe,
        **evidence,
    }
    if classify:
        entry["calibration"] = (calibration or PlattCalibration()).as_dict()
    return entry
