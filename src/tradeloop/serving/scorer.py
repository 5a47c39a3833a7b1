"""The ONNX scorer: loads a registered model and checks its feature schema first."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort

from tradeloop.features.schema import FeatureSchema, require_schema


class OnnxScorer:
    """Scores feature rows with an ONNX classifier; refuses a model of another schema."""

    def __init__(self, onnx_bytes: bytes, manifest: dict[str, Any], schema: FeatureSchema):
        require_schema(
            str(manifest.get("feature_schema_hash", "")),
            schema,
            f"model {manifest.get('model_version_id', '?')}",
        )
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(
            onnx_bytes, options, providers=["CPUExecutionProvider"]
        )
        self.manifest = manifest
        self.schema = schema

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """P(event) for each row of ``features`` (columns in schema order)."""
        if features.ndim != 2 or features.shape[1] != len(self.schema.names):
            raise ValueError(
                f"expected rows of {len(self.schema.names)} features "
                f"({', '.join(self.schema.names)}), got shape {features.shape}"
            )
        outputs = self._session.run(None, {"features": features.astype(np.float32)})
        return np.asarray(outputs[1])[:, 1]
