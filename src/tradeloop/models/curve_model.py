"""The prediction curve as served: 100 horizons of expected cumulative log return, with
their uncertainty, from one ONNX model per anchor horizon and output (mean and the two
quantiles), interpolated linearly between anchors; and the summary the agent reads
(optimal horizon and return, risk score, direction)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeloop.core.errors import DataError
from tradeloop.models.config import CURVE_HORIZONS as HORIZONS

OUTPUTS = ("mean", "q_lo", "q_hi")
CURVE_MODEL_NAME = "curve"


def curve_filename(horizon: int, output: str) -> str:
    return f"curve_h{horizon:03d}_{output}.onnx"


@dataclass(frozen=True, slots=True)
class CurveBatch:
    """Curves of ``n`` rows: ``mean[n, 100]`` and ``uncertainty[n, 100]`` (log returns;
    column ``h-1`` is the horizon of ``h`` sessions)."""

    mean: np.ndarray
    uncertainty: np.ndarray


def interpolate(anchors: tuple[int, ...], values: np.ndarray) -> np.ndarray:
    """``values[n, len(anchors)]`` -> ``[n, 100]``, linear between anchors, flat beyond."""
    grid = np.arange(1, HORIZONS + 1, dtype=np.float64)
    out = np.empty((values.shape[0], HORIZONS))
    for i in range(values.shape[0]):
        out[i] = np.interp(grid, np.asarray(anchors, dtype=np.float64), values[i])
    return out


def curve_from_anchor_outputs(
    anchors: tuple[int, ...], mean: np.ndarray, q_lo: np.ndarray, q_hi: np.ndarray
) -> CurveBatch:
    """Anchor outputs (``[n, anchors]`` each) to full curves; the uncertainty is half the
    quantile band (about one standard deviation for 16 % / 84 %), never below 1e-6."""
    half_band = np.maximum(np.abs(q_hi - q_lo) / 2.0, 1e-6)
    return CurveBatch(interpolate(anchors, mean), interpolate(anchors, half_band))


def summarize_batch(
    mean: np.ndarray, uncertainty: np.ndarray, hold_tstat: float
) -> dict[str, np.ndarray]:
    """Per row of ``mean[n, 100]`` / ``uncertainty[n, 100]``: the optimal horizon (1..100,
    where the predicted return in units of its uncertainty is largest in magnitude), the
    return there, the direction (+1 LONG, -1 SHORT, 0 HOLD when that magnitude is below
    ``hold_tstat`` uncertainties) and ``risk_score`` in [0, 1] (the uncertainty's share of
    uncertainty plus |return| at that horizon)."""
    tstat = mean / uncertainty
    best = np.argmax(np.abs(tstat), axis=1)
    rows = np.arange(mean.shape[0])
    value, spread = mean[rows, best], uncertainty[rows, best]
    direction = np.where(np.abs(tstat[rows, best]) < hold_tstat, 0, np.sign(value))
    return {
        "optimal_horizon": best + 1,
        "optimal_return": value,
        "direction": direction.astype(np.int64),
        "risk_score": spread / (spread + np.abs(value)),
    }


DIRECTIONS = {1: "LONG", -1: "SHORT", 0: "HOLD"}


def summarize(mean: np.ndarray, uncertainty: np.ndarray, hold_tstat: float) -> dict[str, Any]:
    """One curve's summary (``summarize_batch`` of one row), as the API answers it."""
    batch = summarize_batch(mean.reshape(1, -1), uncertainty.reshape(1, -1), hold_tstat)
    return {
        "predictions_continuous": [float(v) for v in mean],
        "uncertainty_continuous": [float(v) for v in uncertainty],
        "optimal_horizon": int(batch["optimal_horizon"][0]),
        "optimal_return": float(batch["optimal_return"][0]),
        "risk_score": float(batch["risk_score"][0]),
        "direction": DIRECTIONS[int(batch["direction"][0])],
    }


class CurveModel:
    """A registered curve version, ready to predict (ONNX Runtime, one thread per call)."""

    def __init__(self, files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
        import onnxruntime as ort

        self.manifest = dict(manifest)
        try:
            self.anchors = tuple(int(h) for h in manifest["anchors"])
            self.hold_tstat = float(manifest["hold_tstat"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"curve manifest lacks {exc}: not a curve version") from None
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.sessions: dict[tuple[int, str], Any] = {}
        for horizon in self.anchors:
            for output in OUTPUTS:
                name = curve_filename(horizon, output)
                if name not in files:
                    raise DataError(f"curve version lacks {name}")
                self.sessions[(horizon, output)] = ort.InferenceSession(
                    files[name], options, providers=["CPUExecutionProvider"]
                )

    def predict(self, features: np.ndarray) -> CurveBatch:
        """Curves for ``features[n, CURVE_SCHEMA]`` (NaN where a value is missing)."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        outputs = {
            output: np.column_stack(
                [
                    np.asarray(self.sessions[(h, output)].run(None, {"features": x})[0]).ravel()
                    for h in self.anchors
                ]
            )
            for output in OUTPUTS
        }
        return curve_from_anchor_outputs(
            self.anchors, outputs["mean"], outputs["q_lo"], outputs["q_hi"]
        )

    def summary(self, features: np.ndarray) -> dict[str, Any]:
        """The summary of one row's curve (``features[1, F]``)."""
        batch = self.predict(features.reshape(1, -1))
        return summarize(batch.mean[0], batch.uncertainty[0], self.hold_tstat)
