from __future__ import annotations

import numpy as np
import pytest

from tradeloop.core.errors import DataError
from tradeloop.features.schema import FeatureSchema
from tradeloop.models.config import TrainConfig
from tradeloop.models.model_artifact import export_fitted, model_entry
from tradeloop.models.train import train_walk_forward
from tradeloop.models.walk_forward import walk_forward_folds
from tradeloop.serving.model_set import load_model_set
from tradeloop.testing import stub_onnx_model, stub_training_set


def test_folds_when_labels_overlap_then_purged_and_embargoed() -> None:
    ts = np.arange(1000, dtype=np.int64)
    matured = ts + 5
    folds = walk_forward_folds(ts, matured, folds=4, min_train_rows=400, embargo_bars=10)
    for fold in folds:
        assert matured[fold.train].max() < ts[fold.test].min()
    first_test_end = folds[0].test.max()
    later_train = folds[1].train
    assert not np.isin(np.arange(first_test_end + 1, first_test_end + 11), later_train).any()


def test_train_when_learnable_then_beats_baseline_and_onnx_matches() -> None:
    data = stub_training_set()
    config = TrainConfig(min_train_rows=400, folds=3, min_child_samples=20)
    result = train_walk_forward(data, config)
    assert result.metrics["auc"] > result.baseline["auc"] + 0.2
    exported = export_fitted(result.model, "lightgbm", True, data.features, data.target)
    assert exported.parity_max_abs < 1e-5
    manifest = {
        "feature_schema_hash": data.schema.schema_hash,
        "models": {
            "model.onnx": model_entry(
                exported, algorithm="lightgbm", classify=True, target="up", horizon=5
            )
        },
    }
    served = load_model_set({"model.onnx": exported.onnx_bytes}, manifest, data.schema)
    native = result.model.predict_proba(data.features[:3])[:, 1]
    np.testing.assert_allclose(served.models[0].predict(data.features[:3]), native, atol=1e-5)


def test_scorer_when_schema_hash_differs_then_refused() -> None:
    onnx_bytes, manifest, schema = stub_onnx_model(n=600)
    other = FeatureSchema("other-1", schema.names, schema.names)
    with pytest.raises(DataError, match="feature_schema_hash"):
        load_model_set({"model.onnx": onnx_bytes}, manifest, other)


def test_scorer_when_a_version_lists_no_models_then_refused_with_the_fix() -> None:
    onnx_bytes, manifest, schema = stub_onnx_model(n=600)
    legacy = {k: v for k, v in manifest.items() if k != "models"}
    with pytest.raises(DataError, match="retrain"):
        load_model_set({"model.onnx": onnx_bytes}, legacy, schema)
