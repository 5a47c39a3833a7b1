"""Concurrent promotions from several processes cannot corrupt aliases or the audit chain."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text

from tradeloop.models.event_models import EVENT_MODELS_NAME as NAME
from tradeloop.registry.registry import ModelRegistry
from tradeloop.store.sql.model_records import SqlModelRecords
from tradeloop.testing.event_models import stub_event_version

WORKER = """
import sys
from pathlib import Path
from tradeloop.core.errors import GateRejected
from tradeloop.registry.registry import ModelRegistry
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.model_records import SqlModelRecords

url, root, worker = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
versions = sys.argv[4].split(",")
registry = ModelRegistry(root, SqlModelRecords(open_engine(url)))
# Every worker registers the same content at the same moment: one version results.
registry.register("race", {"model.onnx": b"same bytes"}, {"feature_schema_hash": "h"})
for round_ in range(6):
    version = versions[(worker + round_) % len(versions)]
    alias = "shadow" if round_ % 3 == 2 else "active"
    try:
        registry.promote("pivot-events", version, alias, actor=f"w{worker}", force=True,
                         reason=f"race {worker}/{round_}")
    except GateRejected:
        raise SystemExit("a forced promotion must not be rejected")
"""


def test_promotions_when_four_processes_race_then_aliases_and_audit_stay_consistent(
    engine: Engine, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    registry = ModelRegistry(root, SqlModelRecords(engine))
    versions = [
        stub_event_version(
            registry, seed=seed, start_ns=1_700_000_000_000_000_000 + seed
        ).version_id
        or ""
        for seed in (1, 2, 3)
    ]
    url = engine.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(root), str(i), ",".join(versions)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]

    with engine.connect() as connection:
        moves = connection.execute(
            text(
                "SELECT alias, model_version_id, previous_version_id, decision "
                "FROM promotion_audit WHERE name = :n AND alias IN ('active', 'shadow') ORDER BY id"
            ),
            {"n": NAME},
        ).all()
        aliases = dict(
            connection.execute(
                text("SELECT alias, model_version_id FROM model_aliases WHERE name = :n"),
                {"n": NAME},
            ).all()
        )
    assert len(moves) == 4 * 6
    # Serialized moves form one unbroken chain per alias: each saw the one before it.
    for alias in ("active", "shadow"):
        chain = [m for m in moves if m.alias == alias]
        assert {m.decision for m in chain} <= {"PROMOTED", "FORCED"}
        assert chain[0].previous_version_id is None
        for before, after in itertools.pairwise(chain):
            assert after.previous_version_id == before.model_version_id
        assert aliases[alias] == chain[-1].model_version_id
    last_change = [
        m
        for m in moves
        if m.alias == "active" and m.previous_version_id not in (None, m.model_version_id)
    ][-1]
    assert aliases["prev"] == last_change.previous_version_id
    # Every process registered identical content: one version, one folder, no stray staging.
    assert len([p for p in root.iterdir() if not p.name.startswith(".")]) == 4
    assert not [p for p in root.iterdir() if p.name.startswith(".") and p.is_dir()]
