"""Export LightGBM and scikit-learn models to ONNX and prove the two agree (train/serve parity)."""

from __future__ import annotations

import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import onnxruntime as ort

from tradeloop.core.errors import DataError

ONNX_TARGET_OPSET = 15
PARITY_TOLERANCE = 1e-5


def float32_thresholds(model: lgb.LGBMModel) -> lgb.LGBMModel:
    """The same model with every split threshold moved down to the largest float32 at or
    below it. The features are float32 (what the ONNX model takes), and for a float32 x,
    ``x <= t`` holds exactly when ``x <= floor32(t)``: LightGBM decides every row as before,
    while ONNX, which stores thresholds as float32 rounded to nearest, no longer sends a
    value that sits between t and its rounding to the other side of a split."""
    # tree_sizes lists each tree's length in bytes, which the new numbers change: without
    # it LightGBM reads the trees one after another
    lines = [
        line
        for line in model.booster_.model_to_string().splitlines()
        if not line.startswith("tree_sizes=")
    ]
    for index, line in enumerate(lines):
        if line.startswith("threshold="):
            values = np.array(line.removeprefix("threshold=").split(), dtype=np.float64)
            snapped = values.astype(np.float32)
            above = snapped.astype(np.float64) > values
            snapped[above] = np.nextafter(snapped[above], np.float32(-np.inf))
            lines[index] = "threshold=" + " ".join(repr(float(v)) for v in snapped)
    model._Booster = lgb.Booster(model_str="\n".join(lines) + "\n")
    return model


def export_lightgbm(model: lgb.LGBMModel, n_features: int) -> bytes:
    """Serialize a LightGBM classifier (probabilities as a plain tensor, no ZipMap) or
    regressor as ONNX."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        onnx_model = convert_lightgbm(
            model,
            initial_types=[("features", FloatTensorType([None, n_features]))],
            target_opset=ONNX_TARGET_OPSET,
            zipmap=False,
        )
    return _deterministic_bytes(onnx_model)


def export_sklearn(model: Any, n_features: int) -> bytes:
    """Serialize a scikit-learn estimator or pipeline (classifier probabilities as a plain
    tensor, no ZipMap) as ONNX."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
    onnx_model = convert_sklearn(
        model,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        target_opset={"": ONNX_TARGET_OPSET, "ai.onnx.ml": 3},
        options=options,
    )
    return _deterministic_bytes(onnx_model)


def _deterministic_bytes(onnx_model: Any) -> bytes:
    """The serialized model, the same bytes for the same model every time: the converters
    name the graph with a random UUID and list opsets in set order, which would give
    identical training a new file checksum, hence a new version id."""
    onnx_model.graph.name = "tradeloop"
    # The opset list comes out of a set: its order changes with Python's hash seed.
    imports = sorted((entry.domain, entry.version) for entry in onnx_model.opset_import)
    del onnx_model.opset_import[:]
    for domain, version in imports:
        entry = onnx_model.opset_import.add()
        entry.domain, entry.version = domain, version
    return bytes(onnx_model.SerializeToString(deterministic=True))


def onnx_predictions(onnx_bytes: bytes, features: np.ndarray) -> np.ndarray:
    """A regressor's predictions, computed by ONNX Runtime."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"features": features.astype(np.float32)})
    return np.asarray(outputs[0]).ravel()


def check_regression_parity(
    model: Any, onnx_bytes: bytes, features: np.ndarray, tolerance: float
) -> float:
    """Max |native - onnx| over ``features``; DataError when above ``tolerance``."""
    native = np.asarray(model.predict(features.astype(np.float32)))
    gap = float(np.max(np.abs(native - onnx_predictions(onnx_bytes, features))))
    if gap > tolerance:
        raise DataError(f"ONNX parity failed: max |Δ| = {gap:.3g} > {tolerance}")
    return gap


def onnx_probabilities(onnx_bytes: bytes, features: np.ndarray) -> np.ndarray:
    """P(class 1) for each row, computed by ONNX Runtime."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the converter's label output shape is declared loosely
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"features": features.astype(np.float32)})
    return np.asarray(outputs[1])[:, 1]


def check_parity(model: Any, onnx_bytes: bytes, features: np.ndarray) -> float:
    """Max |p_native - p_onnx| over ``features``; DataError when above the tolerance."""
    native = np.asarray(model.predict_proba(features.astype(np.float32)))[:, 1]
    exported = onnx_probabilities(onnx_bytes, features)
    gap = float(np.max(np.abs(native - exported))) if native.size else 0.0
    if gap > PARITY_TOLERANCE:
        raise DataError(
            f"ONNX parity failed: max |Δp| = {gap:.3g} > {PARITY_TOLERANCE}; the exported model "
            "would not serve what was trained. Fix: check onnxmltools/lightgbm versions."
        )
    return gap
