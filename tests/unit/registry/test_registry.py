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


@pytest.mark.parametrize(
    ("key", "value"),
    [("metrics", {"auc": 0.99}), ("trained_end_ns", 4_102_444_800_000_000_000)],
)
def test_load_when_manifest_edited_after_registration_then_refused_everywhere(
    tmp_path: Path, key: str, value: object
) -> None:
    import json

    from tradeloop.registry.registry import read_version_folder

    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    version = registry.register(
        "m",
        {"model.onnx": b"bytes"},
        {"feature_schema_hash": "abc", "metrics": {"auc": 0.51}, "trained_end_ns": 1},
    )
    manifest_path = Path(version.path) / "manifest.json"
    edited = json.loads(manifest_path.read_text()) | {key: value}  # better metrics, fresher
    os.chmod(manifest_path, 0o644)
    manifest_path.write_text(json.dumps(edited, indent=2, sort_keys=True))
    with pytest.raises(DataError, match=r"manifest\.json was changed after registration"):
        registry.load(version.model_version_id)  # promote, check, rollback and serve load so
    with pytest.raises(DataError, match=r"manifest\.json was changed after registration"):
        read_version_folder(Path(version.path))  # TRADELOOP_MODEL_PATH and restore drills
    with pytest.raises(DataError, match="changed after registration"):
        registry.promote("m", version.model_version_id, "candidate", actor="t")


def test_register_when_manifest_sets_registry_keys_then_refused(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    with pytest.raises(DataError, match=r"\['model_version_id'\] are set by the registry"):
        registry.register(
            "m", {"model.onnx": b"x"}, {"feature_schema_hash": "a", "model_version_id": "f"}
        )


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

    from tradeloop.serving.model_set import load_model_set
    from tradeloop.testing import stub_onnx_model

    onnx_bytes, manifest, schema = stub_onnx_model()
    served = load_model_set({"model.onnx": onnx_bytes}, manifest, schema).models[0]
    probabilities = served.predict(np.zeros((4, len(schema.names)), dtype=np.float32))
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


def _trained_registry(tmp_path: Path) -> tuple[ModelRegistry, str, str]:
    from tradeloop.testing.event_models import TINY_CONFIG, stub_event_version

    registry = ModelRegistry(tmp_path / "models", InMemoryModelRecords())
    first = stub_event_version(registry, seed=1).version_id
    narrow = TINY_CONFIG.model_copy(update={"targets": ("held",)})
    second = stub_event_version(registry, seed=2, config=narrow).version_id
    assert first
    assert second
    return registry, first, second


def test_promote_when_forced_then_applied_and_audit_keeps_reason_and_failures(
    tmp_path: Path,
) -> None:
    from tradeloop.core.errors import GateRejected
    from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME

    registry, first, second = _trained_registry(tmp_path)
    registry.promote(NAME, first, "active", actor="t")
    with pytest.raises(DataError, match="needs --reason"):
        registry.promote(NAME, second, "active", actor="t", force=True)
    with pytest.raises(GateRejected):
        registry.promote(NAME, second, "active", actor="t")
    outcome = registry.promote(
        NAME, second, "active", actor="ops", force=True, reason="hotfix: mfe model broken"
    )
    assert outcome.decision == "FORCED"
    assert outcome.gate.checks["keeps_active_coverage"] is False
    assert registry.resolve(NAME, "active") == second
    assert registry.resolve(NAME, "prev") == first
    record = registry.history(NAME, 1)[0]
    assert (record.decision, record.actor, record.gate["reason"]) == (
        "FORCED",
        "ops",
        "hotfix: mfe model broken",
    )


def test_aliases_when_prev_set_directly_or_rollback_without_prev_then_refused(
    tmp_path: Path,
) -> None:
    from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME

    registry, first, _ = _trained_registry(tmp_path)
    with pytest.raises(DataError, match="nothing to roll back"):
        registry.rollback(NAME, actor="t")
    with pytest.raises(DataError, match="prev moves by itself"):
        registry.promote(NAME, first, "prev", actor="t")
    registry.promote(NAME, first, "shadow", actor="t")
    assert registry.resolve(NAME, "shadow") == first
    assert registry.resolve(NAME, "active") is None


def test_promote_when_version_tampered_then_refused_before_any_move(tmp_path: Path) -> None:
    from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME

    registry, first, _ = _trained_registry(tmp_path)
    folder = Path(registry.version(first).path)
    target = next(folder.glob("*.onnx"))
    os.chmod(target, 0o644)
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(DataError, match="checksum"):
        registry.promote(NAME, first, "active", actor="t")
    assert registry.resolve(NAME, "active") is None


def test_rollback_when_two_operators_roll_back_at_once_then_the_second_sees_the_first(
    tmp_path: Path,
) -> None:
    from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME

    registry, first, second = _trained_registry(tmp_path)
    registry.promote(NAME, first, "active", actor="t")
    registry.promote(NAME, second, "active", actor="t", force=True, reason="setup")
    seen_by_both = registry.resolve(NAME, "active")  # both operators saw `second` active
    assert seen_by_both == second
    registry.rollback(NAME, actor="alice", reason="drift", expected_active=seen_by_both)
    with pytest.raises(DataError, match=f"already moved from {second} to {first}"):
        registry.rollback(NAME, actor="bob", reason="drift", expected_active=seen_by_both)
    assert registry.resolve(NAME, "active") == first  # not rolled forward again by bob
    assert registry.history(NAME, 1)[0].actor == "alice"


def test_registry_when_home_copied_and_original_gone_then_copy_loads_its_own_folders(
    tmp_path: Path,
) -> None:
    import shutil

    records = InMemoryModelRecords()
    original = ModelRegistry(tmp_path / "a" / "models", records)
    version = original.register("m", {"model.onnx": b"bytes"}, {"feature_schema_hash": "h"})
    assert records.get_version(version.model_version_id).path == version.model_version_id
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")  # a restored or moved TRADELOOP_HOME
    copy = ModelRegistry(tmp_path / "b" / "models", records)
    files, _ = copy.load(version.model_version_id)
    assert files == {"model.onnx": b"bytes"}
    assert copy.version(version.model_version_id).path == str(
        tmp_path / "b" / "models" / version.model_version_id
    )


def test_find_when_families_differ_then_an_alias_resolves_where_it_is_set(tmp_path: Path) -> None:
    """One registry view: the demo's family and the event models' are both found."""
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    demo = registry.register("demo-drawdown", {"model.onnx": b"d"}, {"feature_schema_hash": "h"})
    events = registry.register("pivot-events", {"a.onnx": b"e"}, {"feature_schema_hash": "h"})
    registry.promote("demo-drawdown", demo.model_version_id, "candidate", actor="t")
    registry.promote("pivot-events", events.model_version_id, "shadow", actor="t")
    assert registry.names() == ["demo-drawdown", "pivot-events"]
    assert registry.find("candidate").model_version_id == demo.model_version_id
    assert registry.find("shadow").name == "pivot-events"
    assert registry.find(events.model_version_id[:8]).name == "pivot-events"
    registry.promote("pivot-events", events.model_version_id, "candidate", actor="t")
    with pytest.raises(DataError, match=r"ambiguous.*--name"):
        registry.find("candidate")
    assert registry.find("candidate", "pivot-events").name == "pivot-events"
    with pytest.raises(DataError, match="no alias or version matches 'active'"):
        registry.find("active")
