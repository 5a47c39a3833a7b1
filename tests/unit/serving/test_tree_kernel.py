"""The compiled tree evaluator equals ONNX Runtime on the models we train, or steps aside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.registry.registry import ModelRegistry
from tradeloop.serving.model_set import load_model_set
from tradeloop.serving.tree_kernel import compile_onnx_trees
from tradeloop.testing import InMemoryModelRecords
from tradeloop.testing.event_models import TINY_CONFIG, stub_event_frame
from tradeloop.usecases.model_training import register_event_models


def _models(tmp_path: Path, **config: object) -> tuple[dict[str, bytes], dict[str, object]]:
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    settings = TINY_CONFIG.model_copy(update={"targets": ("held", "mfe_bps"), **config})
    outcome = register_event_models(
        registry, stub_event_frame(n=1500), settings, allow_partial=False
    )
    assert outcome.version_id
    return registry.load(outcome.version_id)


@pytest.mark.parametrize("algorithm", ["random_forest", "lightgbm"])
def test_compiled_when_trained_model_then_equals_onnx_runtime_with_missing_values(
    tmp_path: Path, algorithm: str
) -> None:
    files, manifest = _models(tmp_path, algorithms=(algorithm,), rf_trees=30, rf_max_depth=6)
    served = load_model_set(files, manifest, EVENT_SCHEMA)  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    rows = rng.normal(0, 2, size=(5000, len(EVENT_SCHEMA.names))).astype(np.float32)
    rows[rng.random(rows.shape) < 0.1] = np.nan
    rows[:50] = 1e30  # far outside any threshold
    for model in served.models:
        assert model.engine == "compiled-trees", model.filename
        np.testing.assert_allclose(model.raw(rows), model.onnx_raw(rows), rtol=1e-6, atol=1e-6)
        one = rows[7:8]
        np.testing.assert_allclose(model.raw(one), model.onnx_raw(one), rtol=1e-6, atol=1e-6)


def test_compile_when_trees_deeper_than_supported_then_onnx_runtime_serves(
    tmp_path: Path,
) -> None:
    files, manifest = _models(
        tmp_path, algorithms=("random_forest",), rf_trees=10, rf_max_depth=30, rf_min_samples_leaf=1
    )
    deep = next(name for name in files if name.startswith("pivot-held"))
    assert compile_onnx_trees(files[deep], len(EVENT_SCHEMA.names)) is None
    served = load_model_set(files, manifest, EVENT_SCHEMA)  # type: ignore[arg-type]
    assert {m.engine for m in served.models} == {"onnxruntime"}


def test_compile_when_graph_is_not_a_tree_ensemble_then_none() -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    linear = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    graph = convert_sklearn(
        linear,
        initial_types=[("features", FloatTensorType([None, 3]))],
        target_opset={"": 15, "ai.onnx.ml": 3},
    )
    assert compile_onnx_trees(graph.SerializeToString(), 3) is None
