"""A model version loaded for serving: every ONNX model of it, verified before use.

Loading is all or nothing: the manifest's schema hash must match the running feature code,
every file must be present, every session must build, and every model must reproduce the
native outputs recorded at training (the parity probe). Only then is a ``ModelSet`` returned.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from tradeloop.core.errors import DataError
from tradeloop.features.schema import FeatureSchema, require_schema
from tradeloop.models.calibration import PlattCalibration
from tradeloop.models.event_models import CLASSIFICATION
from tradeloop.serving.tree_kernel import CompiledTrees, compile_onnx_trees

PROBE_TOLERANCE = 1e-5
COMPILED_TOLERANCE = 1e-6  # compiled vs ONNX Runtime: float sums in another order only
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServedModel:
    """One ONNX model of a version: a target at a horizon."""

    filename: str
    target: str
    horizon: int
    session: ort.InferenceSession
    output: str
    calibration: PlattCalibration | None
    tau_entry: float | None
    tau_hold: float | None
    compiled: CompiledTrees | None = None

    @property
    def classify(self) -> bool:
        return self.calibration is not None

    @property
    def engine(self) -> str:
        return "compiled-trees" if self.compiled is not None else "onnxruntime"

    def raw(self, features: np.ndarray) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict(features)
        return self.onnx_raw(features)

    def onnx_raw(self, features: np.ndarray) -> np.ndarray:
        outputs = self.session.run([self.output], {"features": features})
        values = np.asarray(outputs[0])
        return values[:, 1] if self.classify else values.ravel()

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Calibrated P(target) for classifiers, the regression value (bps) otherwise."""
        raw = self.raw(features)
        return self.calibration.apply(raw) if self.calibration is not None else raw


@dataclass(frozen=True, slots=True)
class ModelSet:
    """Every model of one version, ready to score rows in schema order."""

    model_version_id: str
    manifest: dict[str, Any]
    models: tuple[ServedModel, ...]
    loaded_at_ns: int
    parity_max_abs: float
    trained_end_ns: int
    feature_low: np.ndarray
    feature_high: np.ndarray
    feature_low_list: list[float]
    feature_high_list: list[float]

    def age_seconds(self, now_ns: int) -> float:
        return max(0.0, (now_ns - self.trained_end_ns) / 1e9)


def _session(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def load_model_set(
    files: Mapping[str, bytes], manifest: dict[str, Any], schema: FeatureSchema
) -> ModelSet:
    """Build and verify every model of a version; DataError naming what is wrong."""
    version_id = str(manifest.get("model_version_id", "?"))
    what = f"model version {version_id}"
    require_schema(str(manifest.get("feature_schema_hash", "")), schema, what)
    entries = manifest.get("models")
    if not isinstance(entries, dict) or not entries:
        raise DataError(
            f"{what}: manifest lists no models (a version registered before models were "
            "listed; retrain to serve it)"
        )
    models, worst = [], 0.0
    for filename, entry in sorted(entries.items()):
        if filename not in files:
            raise DataError(f"{what}: {filename} is listed in the manifest but missing")
        try:
            session = _session(files[filename])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise DataError(f"{what}: {filename} is not a loadable ONNX model ({exc})") from None
        kind = str(entry.get("kind", ""))
        classify = kind.endswith("-classifier") if kind else entry.get("target") in CLASSIFICATION
        outputs = [output.name for output in session.get_outputs()]
        thresholds = entry.get("thresholds") or {}
        model = ServedModel(
            filename=filename,
            target=str(entry["target"]),
            horizon=int(entry["horizon_bars"]),
            session=session,
            output=outputs[1] if classify else outputs[0],
            calibration=PlattCalibration.from_dict(entry.get("calibration")) if classify else None,
            tau_entry=thresholds.get("tau_entry"),
            tau_hold=thresholds.get("tau_hold"),
        )
        worst = max(worst, _probe(model, entry, what))
        models.append(_with_compiled(model, files[filename], entry, schema))
    low, high = _ranges(manifest, schema)
    return ModelSet(
        model_version_id=version_id,
        manifest=manifest,
        models=tuple(models),
        loaded_at_ns=time.time_ns(),
        parity_max_abs=worst,
        trained_end_ns=int(manifest.get("trained_end_ns", 0)),
        feature_low=low,
        feature_high=high,
        feature_low_list=[float(v) for v in low],
        feature_high_list=[float(v) for v in high],
    )


def _with_compiled(
    model: ServedModel, onnx_bytes: bytes, entry: dict[str, Any], schema: FeatureSchema
) -> ServedModel:
    """The model with the compiled tree evaluator, if it reproduces ONNX Runtime exactly
    enough on the probe rows and on random rows (with missing values); else unchanged."""
    try:
        compiled = compile_onnx_trees(onnx_bytes, len(schema.names))
    except Exception:  # an unexpected graph: ONNX Runtime serves it
        log.warning(
            "%s: tree compilation failed; serving with ONNX Runtime", model.filename, exc_info=True
        )
        return model
    if compiled is None:
        return model
    rng = np.random.default_rng(0)
    rows = rng.normal(0, 3, size=(512, len(schema.names))).astype(np.float32)
    rows[rng.random(rows.shape) < 0.05] = np.nan
    probe = entry.get("probe") or {}
    if probe.get("features"):
        probe_rows = [[np.nan if v is None else v for v in row] for row in probe["features"]]
        rows = np.vstack([np.asarray(probe_rows, np.float32), rows])
    gap = float(np.max(np.abs(compiled.predict(rows) - model.onnx_raw(rows))))
    scale = max(1.0, float(np.max(np.abs(model.onnx_raw(rows)))))
    if not gap <= COMPILED_TOLERANCE * scale:
        log.warning(
            "%s: compiled trees differ from ONNX Runtime by %.3g; serving with ONNX Runtime",
            model.filename,
            gap,
        )
        return model
    return dataclasses.replace(model, compiled=compiled)


def _probe(model: ServedModel, entry: dict[str, Any], what: str) -> float:
    probe = entry.get("probe") or {}
    rows, expected = probe.get("features"), probe.get("expected")
    if not rows or not expected:
        raise DataError(f"{what}: {model.filename} has no parity probe in its manifest")
    features = np.array([[np.nan if v is None else v for v in row] for row in rows], np.float32)
    want = np.asarray(expected, dtype=np.float64)
    got = model.raw(features)
    gap = np.abs(got - want)
    tolerance = np.maximum(PROBE_TOLERANCE, 1e-5 * np.maximum(1.0, np.abs(want)))
    if got.shape != want.shape or np.any(gap > tolerance):
        raise DataError(
            f"{what}: {model.filename} fails its parity probe (max |Δ| {float(gap.max()):.3g}); "
            "the file does not reproduce what was trained"
        )
    return float(gap.max())


def _ranges(manifest: dict[str, Any], schema: FeatureSchema) -> tuple[np.ndarray, np.ndarray]:
    ranges = manifest.get("feature_ranges") or {}
    low = np.array([ranges.get(n, [-np.inf, np.inf])[0] for n in schema.names], np.float64)
    high = np.array([ranges.get(n, [-np.inf, np.inf])[1] for n in schema.names], np.float64)
    return np.where(np.isnan(low), -np.inf, low), np.where(np.isnan(high), np.inf, high)
