"""The serving registry on SQLite and PostgreSQL: a run promoted under an alias publishes
an immutable version and points the alias at it (audited); a rollback is a repoint; the
preflight refuses a serving that would not run before anything is written; two versions
diff by path."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tradeloop.features.book.instrument import load_instrument
from tradeloop.research.config_tree import load_tree, validate_tree
from tradeloop.research.serving_registry import (
    PreflightError,
    ServingRegistry,
    diff_servings,
    published_from_run,
)
from tradeloop.store.sql.serving_activations import SqlServingActivations
from tradeloop.store.sql.tables import audit_event, serving_activation

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_796_000_000_000_000_000


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "research" / "configs", tmp_path / "research" / "configs")
    shutil.copytree(ROOT / "config" / "instruments", tmp_path / "config" / "instruments")
    return tmp_path


def _run(threshold: float) -> dict[str, Any]:
    return {
        "run_id": f"run-{threshold}", "experiment": "es_composite_sweep",
        "serving": "es_composite", "dataset_id": "06397e4e76c5942a",
        "params": {"signal.threshold": threshold, "eval.tp_ticks": 12.0},
        "trades": 14, "hit_rate": 0.57, "total_pnl_ticks": 33.5, "sharpe": 0.49,
    }  # fmt: skip


def _manifest() -> dict[str, Any]:
    instrument = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml")
    return {"instrument": instrument.model_dump(mode="json")}


def test_promote_when_run_then_published_once_and_alias_repointed(
    project: Path, engine: Engine
) -> None:
    tree = load_tree(project / "research" / "configs")
    registry = ServingRegistry(tree, SqlServingActivations(engine))
    first, before = registry.promote(_run(0.02), _manifest(), "es_live", "ana", "best Sharpe", T0)
    assert before is None
    path = project / "research" / "configs" / "serving_versions" / f"{first.serving_id}.yaml"
    written = path.read_bytes()
    assert first.spec.signal.params["threshold"] == 0.02
    assert first.runtime_snapshot["eval"]["tp_ticks"] == 12.0
    second, before = registry.promote(_run(0.1), _manifest(), "es_live", "ana", "wider", T0 + 1)
    assert before == first.serving_id
    assert registry.resolve("es_live").serving_id == second.serving_id
    # rollback: a repoint, the versions untouched
    registry.activate("es_live", first.serving_id, "bo", "rollback: drawdown", T0 + 2)
    assert registry.resolve("es_live").serving_id == first.serving_id
    assert registry.resolve(second.serving_id).serving_id == second.serving_id
    assert path.read_bytes() == written
    history = SqlServingActivations(engine).history("es_live")
    assert [h["serving_id"] for h in history] == [
        first.serving_id,
        second.serving_id,
        first.serving_id,
    ]
    assert history[-1]["previous_serving_id"] == second.serving_id
    with engine.connect() as connection:
        audits = connection.execute(
            select(func.count()).where(audit_event.c.kind == "serving_activated")
        ).scalar()
    assert audits == 3
    # published files are valid members of the tree
    tree_after, problems = validate_tree(project / "research" / "configs")
    assert problems == []
    assert set(tree_after.specs["serving_versions"]) == {first.serving_id, second.serving_id}
    changed = {d["path"] for d in diff_servings(first, second)}
    assert "spec.signal.params.threshold" in changed
    assert "runtime_snapshot.signal.threshold" in changed


def test_promote_when_serving_would_not_run_then_refused_before_any_write(
    project: Path, engine: Engine
) -> None:
    tree = load_tree(project / "research" / "configs")
    registry = ServingRegistry(tree, SqlServingActivations(engine))
    manifest = _manifest()
    manifest["instrument"]["tick_size"] = 0.5  # the data it was evaluated on had another tick
    with pytest.raises(PreflightError, match=r"instrument tick_size: the snapshot says 0\.5"):
        registry.promote(_run(0.02), manifest, "es_live", "ana", "try", T0)
    # a spec whose pipeline is gone from the tree, given to the registry directly
    published = published_from_run(tree, _run(0.02), _manifest(), T0)
    broken = published.model_copy(update={"spec": published.spec.with_changes(pipeline="gone")})
    with pytest.raises(PreflightError, match="pipeline 'gone' is not in"):
        registry.publish(broken)
    assert list((project / "research" / "configs" / "serving_versions").glob("*.yaml")) == []
    with engine.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(serving_activation)).scalar() == 0
        )


def test_activate_when_unknown_version_or_bad_alias_then_refused(
    project: Path, engine: Engine
) -> None:
    registry = ServingRegistry(
        load_tree(project / "research" / "configs"), SqlServingActivations(engine)
    )
    with pytest.raises(Exception, match="no published serving 'ffffffffffffffff'"):
        registry.activate("es_live", "ffffffffffffffff", "ana", "x", T0)
    with pytest.raises(Exception, match="alias 'ES LIVE'"):
        registry.activate("ES LIVE", "ffffffffffffffff", "ana", "x", T0)
