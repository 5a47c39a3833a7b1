"""An ONNX classifier of scalper candidates for the ai_scorer stage.

The file must say which features it reads, in order, in its metadata (``feature_names``,
comma-separated; equal to ``CANDIDATE_FEATURES``, else it is refused: a model trained on
other features must not score these), and output class probabilities as a float tensor
``[n, 2]`` (skl2onnx / onnxmltools with ``zipmap`` off). ``model_id`` is its metadata's
``model_id``, else the first 12 hex of the file's SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from tradeloop.core.errors import DataError
from tradeloop.features.tick_book import CANDIDATE_FEATURES


@dataclass(slots=True)
class OnnxCandidateModel:
    session: Any
    input_name: str
    output_name: str
    model_id: str

    @classmethod
    def load(cls, path: Path) -> OnnxCandidateModel:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(
                f"scalper.ai_scorer.model_path {path}: {exc}. Fix: point it at an ONNX file"
            ) from None
        return cls.from_bytes(data, str(path))

    @classmethod
    def from_bytes(cls, data: bytes, path: str, model_id: str | None = None) -> OnnxCandidateModel:
        """``path`` names where the bytes came from, in errors; ``model_id`` overrides the
        metadata's (a registry version's id)."""
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types
            raise DataError(f"{path} is not a loadable ONNX model ({exc})") from None
        meta = session.get_modelmeta().custom_metadata_map
        names = tuple(n.strip() for n in meta.get("feature_names", "").split(",") if n.strip())
        if names != CANDIDATE_FEATURES:
            raise DataError(
                f"{path}: its metadata feature_names {list(names)} are not the candidate "
                f"features {list(CANDIDATE_FEATURES)}. Fix: train it on those features, in "
                "that order, and write them into the model's metadata"
            )
        outputs = session.get_outputs()
        probabilities = next((o for o in outputs if "prob" in o.name.lower()), outputs[-1])
        model_id = model_id or meta.get("model_id") or hashlib.sha256(data).hexdigest()[:12]
        return cls(session, session.get_inputs()[0].name, probabilities.name, model_id)

    def probability(self, features: Sequence[float]) -> float:
        row = np.asarray([features], dtype=np.float32)
        out = self.session.run([self.output_name], {self.input_name: row})[0]
        values = np.asarray(out, dtype=np.float64).reshape(-1)
        if values.size < 2:
            raise DataError(
                f"candidate model {self.model_id} outputs {values.size} value(s), not class "
                "probabilities. Fix: export with zipmap off"
            )
        return float(values[1])


def parity_gap(model: OnnxCandidateModel, features: Sequence[Sequence[float]],
               expected: Sequence[float]) -> float:  # fmt: skip
    """Largest |ONNX probability - the trainer's| over recorded rows (inf: unreadable)."""
    if not features or len(features) != len(expected):
        return float("inf")
    got = [model.probability(row) for row in features]
    return float(max(abs(a - float(b)) for a, b in zip(got, expected, strict=True)))
