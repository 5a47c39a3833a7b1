from __future__ import annotations

import numpy as np
import pytest

from tradeloop.core.errors import DataError
from tradeloop.features.schema import FeatureSchema
from tradeloop.models.config import TrainConfig
from tradeloop.models.onnx_export import check_parity, export_lightgbm
from tradeloop.models.train import train_walk_forward
from tradeloop.models.walk_forward import walk_forward_folds
from tradeloop.serving.scorer import OnnxScorer
from tradeloop.testing import stub_training_set


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
    onnx_bytes = export_lightgbm(result.model, data.features.shape[1])
    assert check_parity(result.model, onnx_bytes, data.features) < 1e-5
    scorer = OnnxScorer(onnx_bytes, {"feature_schema_hash": data.schema.schema_hash}, data.schema)
    assert scorer.predict_proba(data.features[:3]).shape == (3,)


def test_scorer_when_schema_hash_differs_then_refused() -> None:
    data = stub_training_set(n=600)
    result = train_walk_forward(data, TrainConfig(min_train_rows=300, folds=2))
    onnx_bytes = export_lightgbm(result.model, data.features.shape[1])
    other = FeatureSchema("other-1", data.schema.names, data.schema.names)
    with pytest.raises(DataError, match="feature_schema_hash"):
        OnnxScorer(onnx_bytes, {"feature_schema_hash": data.schema.schema_hash}, other)
