"""The scoring service: validation, scoring, preview, staleness, shadow, atomic reload."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME
from tradeloop.registry.registry import ModelRegistry
from tradeloop.serving.config import ScorerConfig
from tradeloop.serving.loader import path_loader, registry_loader
from tradeloop.serving.model_set import load_model_set
from tradeloop.serving.prediction_writer import PredictionWriter
from tradeloop.serving.service import ReloadError, RequestError, ScoringService
from tradeloop.testing import InMemoryModelRecords
from tradeloop.testing.event_models import stub_event_frame, stub_event_version

HOUR_NS = 3_600 * 10**9


class ListSink:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows.extend(rows)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", InMemoryModelRecords())


def _version(registry: ModelRegistry, seed: int) -> str:
    version_id = stub_event_version(
        registry, seed=seed, start_ns=1_700_000_000_000_000_000 + seed * HOUR_NS
    ).version_id
    assert version_id
    return version_id


def _event(event_id: str = "e1", **overrides: Any) -> dict[str, Any]:
    features: dict[str, Any] = dict.fromkeys(EVENT_SCHEMA.names, 0.1)
    features.update(overrides)
    return {"event_id": event_id, "symbol": "SPY", "features": features}


def _service(
    registry: ModelRegistry, now_ns: int | None = None, **config: Any
) -> tuple[ScoringService, ListSink, PredictionWriter]:
    sink = ListSink()
    writer = PredictionWriter(sink, max_rows=10_000, flush_ms=10)
    clock = (lambda: now_ns) if now_ns is not None else None
    service = ScoringService(
        registry_loader(registry, NAME, EVENT_SCHEMA, shadow=True),
        ScorerConfig(**config),
        EVENT_SCHEMA,
        writer=writer,
        **({"clock": clock} if clock else {}),
    )
    return service, sink, writer


def _trained_end(registry: ModelRegistry, version_id: str) -> int:
    return int(registry.version(version_id).manifest["trained_end_ns"])


def test_score_when_active_then_every_model_scores_and_is_logged(registry: ModelRegistry) -> None:
    version = _version(registry, 1)
    registry.promote(NAME, version, "active", actor="t")
    service, sink, writer = _service(registry, now_ns=_trained_end(registry, version) + HOUR_NS)
    service.reload()
    answer = service.score({"events": [_event("a"), _event("b", distance_bps=None)]})
    assert answer["model_version_id"] == version
    assert answer["is_preview"] is False
    assert {(p["target"], p["horizon"]) for p in answer["predictions"]} == {
        ("held", 5),
        ("mfe_bps", 5),
    }
    held = [p for p in answer["predictions"] if p["target"] == "held"]
    assert all(0 <= p["score"] <= 1 and p["signal"] in ("entry", "hold", "none") for p in held)
    flags = {p["event_id"]: p["quality_flags"] for p in held}
    assert flags["b"] == ["missing_feature:distance_bps"]
    assert flags["a"] == []
    assert writer.flush()
    assert len(sink.rows) == 4
    assert {row["is_preview"] for row in sink.rows} == {False}


def test_score_when_same_rows_then_scores_equal_calibrated_onnx_of_the_version(
    registry: ModelRegistry,
) -> None:
    version = _version(registry, 1)
    registry.promote(NAME, version, "active", actor="t")
    service, _, _ = _service(registry)
    service.reload()
    frame = stub_event_frame(n=50, seed=11).head(20)
    events = [
        {"event_id": f"x{i}", "features": {n: row[n] for n in EVENT_SCHEMA.names}}
        for i, row in enumerate(frame.iter_rows(named=True))
    ]
    answer = service.score({"events": events})
    files, manifest = registry.load(version)
    served = load_model_set(files, manifest, EVENT_SCHEMA)
    held = next(m for m in served.models if m.target == "held")
    features = np.array(
        [
            [np.nan if r[n] is None else r[n] for n in EVENT_SCHEMA.names]
            for r in frame.iter_rows(named=True)
        ],
        dtype=np.float32,
    )
    # The reference: ONNX Runtime itself on the version's own file, independent of the
    # service's engine (compiled trees or its own session), then the version's calibration.
    reference = ort.InferenceSession(files[held.filename], providers=["CPUExecutionProvider"])
    (probabilities,) = reference.run([held.output], {"features": features})
    expected = held.calibration.apply(np.asarray(probabilities)[:, 1])  # type: ignore[union-attr]
    got = [p["score"] for p in answer["predictions"] if p["target"] == "held"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"events": [{"event_id": "e", "features": {"distance_bps": 1.0}}]}, 422, "missing"),
        ({"events": [_event(extra_feature=1.0)]}, 422, "unknown ['extra_feature']"),
        ({"events": [_event(distance_bps="1.0")]}, 422, "expected a number"),
        ({"events": [_event(distance_bps=True)]}, 422, "expected a number"),
        ({"events": [_event(distance_bps=float("inf"))]}, 422, "not finite"),
        ({"events": [_event(distance_bps=1e39)]}, 422, "features.distance_bps = 1e+39 is not"),
        ({"events": [_event(distance_bps=10**400)]}, 422, "features.distance_bps = 1000000"),
        ({"events": []}, 400, "empty"),
        ({"rows": []}, 400, "expected"),
        ({"events": [_event() | {"feature_schema_hash": "abc"}]}, 422, "feature_schema_hash"),
        ({"events": [_event() for _ in range(11)]}, 413, "max_batch 10"),
    ],
)
def test_score_when_request_malformed_then_clear_error(
    registry: ModelRegistry, payload: dict[str, Any], status: int, fragment: str
) -> None:
    registry.promote(NAME, _version(registry, 1), "active", actor="t")
    service, sink, writer = _service(registry, max_batch=10)
    service.reload()
    with pytest.raises(RequestError) as error:
        service.score(payload)
    assert error.value.status == status
    assert fragment in error.value.message
    assert writer.flush()
    assert sink.rows == []


def test_score_body_when_nan_literal_or_not_json_then_refused(registry: ModelRegistry) -> None:
    registry.promote(NAME, _version(registry, 1), "active", actor="t")
    service, _, _ = _service(registry)
    service.reload()
    with pytest.raises(RequestError, match="NaN is not a number"):
        service.score_body(b'{"events": [{"features": {"distance_bps": NaN}}]}')
    with pytest.raises(RequestError, match="not valid JSON"):
        service.score_body(b"{not json")
    deep = b'{"events": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    with pytest.raises(RequestError, match="nested too deep") as nested:
        service.score_body(deep)
    assert nested.value.status == 400
    digits = json.dumps({"events": [_event(distance_bps=12345)]}).replace("12345", "1" + "0" * 400)
    with pytest.raises(RequestError, match=r"features\.distance_bps = 1000") as huge:
        service.score_body(digits)
    assert huge.value.status == 422


def test_no_active_when_candidate_exists_then_preview_only_and_no_signals(
    registry: ModelRegistry,
) -> None:
    _version(registry, 1)  # registered as candidate, never promoted
    service, sink, writer = _service(registry)
    service.reload()
    assert service.health()["status"] == "no_model"
    answer = service.score({"events": [_event(distance_bps=5.0)]})
    assert answer["is_preview"] is True
    assert answer["alias"] == "candidate"
    assert {p["signal"] for p in answer["predictions"]} == {"none"}
    assert writer.flush()
    assert {row["is_preview"] for row in sink.rows} == {True}


def test_no_model_at_all_when_scoring_then_503(registry: ModelRegistry) -> None:
    service, _, _ = _service(registry)
    service.reload()
    with pytest.raises(RequestError) as error:
        service.score({"events": [_event()]})
    assert error.value.status == 503
    assert "no_model" in error.value.message


def test_staleness_when_model_ages_then_degrading_then_refused(registry: ModelRegistry) -> None:
    version = _version(registry, 1)
    registry.promote(NAME, version, "active", actor="t")
    end = _trained_end(registry, version)
    for hours, status, preview in (
        (1, "ok", False),
        (80, "degrading", False),
        (200, "kill-switch", True),
    ):
        service, _, _ = _service(
            registry, now_ns=end + hours * HOUR_NS, stale_warn_hours=72, stale_max_hours=168
        )
        service.reload()
        assert service.health()["status"] == status
        answer = service.score({"events": [_event(distance_bps=5.0)]})
        assert answer["is_preview"] is preview
        if preview:
            assert {p["signal"] for p in answer["predictions"]} == {"none"}
        if hours > 72:
            assert "stale_model" in answer["predictions"][0]["quality_flags"]


def test_shadow_when_set_then_logged_as_shadow_and_never_returned(
    registry: ModelRegistry,
) -> None:
    active, shadow = _version(registry, 1), _version(registry, 2)
    registry.promote(NAME, active, "active", actor="t")
    registry.promote(NAME, shadow, "shadow", actor="t")
    service, sink, writer = _service(registry)
    service.reload()
    answer = service.score({"events": [_event()]})
    assert {p["target"] for p in answer["predictions"]} == {"held", "mfe_bps"}
    assert answer["model_version_id"] == active
    assert writer.flush()
    shadow_rows = [row for row in sink.rows if row["is_shadow"]]
    assert {row["model_version_id"] for row in shadow_rows} == {shadow}
    assert len(shadow_rows) == 2
    assert len(sink.rows) == 4


def _tamper(registry: ModelRegistry, version_id: str) -> None:
    target = next(Path(registry.version(version_id).path).glob("*.onnx"))
    os.chmod(target, 0o644)
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])


def test_reload_when_new_version_tampered_then_409_reason_and_old_keeps_serving(
    registry: ModelRegistry,
) -> None:
    old, new = _version(registry, 1), _version(registry, 2)
    registry.promote(NAME, old, "active", actor="t")
    service, _, _ = _service(registry, now_ns=_trained_end(registry, old) + HOUR_NS)
    service.reload()
    registry.promote(NAME, new, "active", actor="t", force=True, reason="test")
    _tamper(registry, new)
    with pytest.raises(ReloadError, match="checksum"):
        service.reload()
    assert service.score({"events": [_event()]})["model_version_id"] == old
    assert service.health()["status"] == "degrading"
    assert "last reload failed" in service.health()["reasons"][0]


def test_reload_when_registry_folder_deleted_then_refused_and_still_serving(
    registry: ModelRegistry,
) -> None:
    version = _version(registry, 1)
    registry.promote(NAME, version, "active", actor="t")
    service, _, _ = _service(registry)
    service.reload()
    shutil.rmtree(registry.root)
    with pytest.raises(ReloadError, match="unreadable"):
        service.reload()
    assert service.score({"events": [_event()]})["model_version_id"] == version


def test_load_when_manifest_schema_hash_differs_then_refused(registry: ModelRegistry) -> None:
    from tradeloop.core.errors import DataError

    version = _version(registry, 1)
    files, manifest = registry.load(version)
    with pytest.raises(DataError, match="feature_schema_hash"):
        load_model_set(files, {**manifest, "feature_schema_hash": "0" * 64}, EVENT_SCHEMA)
    probe = dict(manifest["models"])
    first = next(iter(probe))
    probe[first] = {**probe[first], "probe": {**probe[first]["probe"], "expected": [0.123] * 16}}
    with pytest.raises(DataError, match="parity probe"):
        load_model_set(files, {**manifest, "models": probe}, EVENT_SCHEMA)


def test_model_path_when_set_then_that_folder_served_after_checksums(
    registry: ModelRegistry,
) -> None:
    version = _version(registry, 1)
    folder = Path(registry.version(version).path)
    service = ScoringService(path_loader(folder, EVENT_SCHEMA), ScorerConfig(), EVENT_SCHEMA)
    service.reload()
    assert service.score({"events": [_event()]})["model_version_id"] == version
    _tamper(registry, version)
    with pytest.raises(ReloadError, match="checksum"):
        service.reload()


def test_writer_when_sink_fails_then_rows_kept_and_retried() -> None:
    calls: list[int] = []

    def flaky(rows: Sequence[dict[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) == 1:
            raise ConnectionError("database down")

    writer = PredictionWriter(flaky, max_rows=100, flush_ms=10)
    writer.submit([{"n": i} for i in range(5)])
    assert writer.flush(timeout_s=5)
    assert calls == [5, 5]
    assert writer.written == 5
    assert writer.failures == 1
    writer.submit([{"n": i} for i in range(200)])
    assert writer.dropped >= 100
    writer.close()
