"""Same inputs, same outputs: training and export are bit-reproducible, ids content-derived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tradeloop.registry.registry import ModelRegistry
from tradeloop.testing import InMemoryModelRecords
from tradeloop.testing.event_models import stub_event_version

EXPORT = """
import hashlib, lightgbm as lgb, numpy as np
from sklearn.ensemble import RandomForestClassifier
from tradeloop.models.onnx_export import export_lightgbm, export_sklearn
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 6)).astype(np.float32)
y = (X[:, 0] + rng.normal(scale=0.5, size=400) > 0).astype(int)
boosted = lgb.LGBMClassifier(n_estimators=20, random_state=1, n_jobs=2, deterministic=True,
                             force_row_wise=True, verbose=-1).fit(X, y)
forest = RandomForestClassifier(n_estimators=8, random_state=1, n_jobs=2).fit(X, y)
for data in (export_lightgbm(boosted, 6), export_sklearn(forest, 6)):
    print(hashlib.sha256(data).hexdigest())
"""


def test_onnx_export_when_same_model_in_two_processes_then_same_bytes() -> None:
    # Different hash seeds: set iteration order differs between the two processes.
    digests = []
    for seed in ("1", "2"):
        environment = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run(
            [sys.executable, "-c", EXPORT],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        digests.append(done.stdout.split())
    assert digests[0] == digests[1]
    assert len(digests[0]) == 2


def test_train_when_same_data_twice_then_same_metrics_and_same_version_id(tmp_path: Path) -> None:
    first = stub_event_version(ModelRegistry(tmp_path / "a", InMemoryModelRecords()), seed=3)
    second = stub_event_version(ModelRegistry(tmp_path / "b", InMemoryModelRecords()), seed=3)
    assert first.version_id is not None
    assert first.version_id == second.version_id
    one, two = tmp_path / "a" / first.version_id, tmp_path / "b" / second.version_id
    for path in sorted(one.iterdir()):
        if path.name != "manifest.json":
            assert path.read_bytes() == (two / path.name).read_bytes(), path.name
    # The manifests differ only in when each was made, which is not part of the id.
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (one, two)]
    for manifest in manifests:
        manifest.pop("created_at")
    assert manifests[0] == manifests[1]
