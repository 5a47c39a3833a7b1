from __future__ import annotations

import os
from pathlib import Path

import pytest

from tradeloop.core.errors import DataError
from tradeloop.registry.gates import GateConfig, evaluate_baseline_gate
from tradeloop.registry.registry import ModelRegistry
from tradeloop.testing import InMemoryModelRecords


def test_register_when_same_content_twice_then_same_immutable_version(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    first = registry.register("m", {"model.onnx": b"bytes"}, {"feature_schema_hash": "abc"})
    again = registry.register("m", {"model.onnx": b"bytes"}, {"feature_schema_hash": "abc"})
    assert first.model_version_id == again.model_version_id
    folder = Path(first.path)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.onnx"]
    assert not os.access(folder / "model.onnx", os.W_OK) or os.geteuid() == 0


def test_load_when_file_tampered_then_refused(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    version = registry.register("m", {"model.onnx": b"bytes"}, {"feature_schema_hash": "abc"})
    model = Path(version.path) / "model.onnx"
    os.chmod(model, 0o644)
    model.write_bytes(b"evil")
    with pytest.raises(DataError, match="checksum"):
        registry.load(version.model_version_id)


def test_register_when_manifest_lacks_schema_hash_then_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="feature_schema_hash"):
        ModelRegistry(tmp_path, InMemoryModelRecords()).register("m", {"model.onnx": b"x"}, {})


@pytest.mark.parametrize(
    ("auc", "log_loss", "passed"),
    [(0.60, 0.40, True), (0.55, 0.40, False), (0.60, 0.50, False)],
)
def test_gate_when_metrics_vs_baseline_then_decides(
    auc: float, log_loss: float, passed: bool
) -> None:
    baseline = {"auc": 0.55, "log_loss": 0.45, "samples": 1000.0}
    metrics = {"auc": auc, "log_loss": log_loss, "samples": 1000.0}
    result = evaluate_baseline_gate(metrics, baseline, GateConfig())
    assert result.passed is passed
    assert bool(result.reasons) is not passed


def test_register_when_metrics_not_finite_then_refused_and_nothing_written(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models", InMemoryModelRecords())
    with pytest.raises(DataError, match="NaN or Infinity"):
        registry.register(
            "m",
            {"model.onnx": b"x"},
            {"feature_schema_hash": "h", "metrics": {"auc": float("nan")}},
        )
    assert not (tmp_path / "models").exists()


def test_stub_onnx_model_when_served_then_scores_rows() -> None:
    import numpy as np

    from tradeloop.serving.scorer import OnnxScorer
    from tradeloop.testing import stub_onnx_model

    onnx_bytes, manifest, schema = stub_onnx_model()
    scorer = OnnxScorer(onnx_bytes, manifest, schema)
    probabilities = scorer.predict_proba(np.zeros((4, len(schema.names)), dtype=np.float32))
    assert probabilities.shape == (4,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_register_when_many_files_then_each_checked_on_load(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    files = {"held-h5.onnx": b"one", "mfe-h5.onnx": b"two"}
    version = registry.register("run", files, {"feature_schema_hash": "h"})
    loaded, manifest = registry.load(version.model_version_id)
    assert loaded == files
    assert set(manifest["files"]) == set(files)
    target = Path(version.path) / "mfe-h5.onnx"
    os.chmod(target, 0o644)
    target.write_bytes(b"evil")
    with pytest.raises(DataError, match=r"mfe-h5\.onnx does not match"):
        registry.load(version.model_version_id)


def test_register_when_file_name_is_a_path_then_refused(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    with pytest.raises(DataError, match="not a plain file name"):
        registry.register("m", {"../escape.onnx": b"x"}, {"feature_schema_hash": "h"})
