"""The ML signal: walked forward with no look-ahead (a fold's decisions do not change when
later data does), silent on the first fold, the same on every run, decided by the ONNX
export (its parity with LightGBM checked on every fold)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource
from tradeloop.research.config_tree import load_tree
from tradeloop.research.datasets import DatasetStore
from tradeloop.research.gold_builder import gold_for_bins
from tradeloop.research.ml_signal import gold_lgbm, walk_forward_probabilities
from tradeloop.usecases.research_datasets import generate_dataset

ROOT = Path(__file__).resolve().parents[3]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
PARAMS = {"horizon_bins": 30.0, "folds": 3.0, "threshold": 0.02}


@pytest.fixture(scope="module")
def columns(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "research" / "configs", project / "research" / "configs")
    shutil.copytree(ROOT / "config" / "instruments", project / "config" / "instruments")
    tree = load_tree(project / "research" / "configs")
    dataset, _ = generate_dataset(
        tree, "es_evening", DatabentoSource(), DatasetStore(project / "d"), lambda _: [DAY]
    )
    return dataset.bins(), gold_for_bins(dataset, tree.serving("es_lgbm").gold)


def test_ml_signal_when_walked_forward_then_first_fold_silent_and_runs_repeat(
    columns: tuple[dict, dict],
) -> None:
    bins, gold = columns
    signal = gold_lgbm(bins, gold, PARAMS)
    valid = np.flatnonzero(bins["valid"])
    first_fold_end = valid[len(valid) // 3]
    assert not signal[:first_fold_end].any()
    assert (signal != 0).sum() > 0
    assert set(np.unique(signal)) <= {-1, 0, 1}
    np.testing.assert_array_equal(gold_lgbm(bins, gold, PARAMS), signal)


def test_ml_signal_when_later_data_changes_then_earlier_folds_decide_the_same(
    columns: tuple[dict, dict],
) -> None:
    bins, gold = columns
    at = np.flatnonzero(bins["valid"])
    names = ("composite", "pressure_variant", "vacuum_variant")
    features = np.column_stack([gold[n][at] for n in names]).astype(np.float32)
    mid = bins["mid"][at].astype(np.float64)
    proba = walk_forward_probabilities(features, mid, 30, 3)
    first, last = (int(b) for b in np.linspace(0, len(mid), 4)[1:3])
    changed = mid.copy()
    changed[last:] = changed[last:][::-1] + 5.0  # the last fold's prices, rewritten
    again = walk_forward_probabilities(features, changed, 30, 3)
    # the last fold's model learned from labels known before it: nothing changes
    np.testing.assert_array_equal(again, proba)
    assert (proba[first:last] != 0.5).any()
    assert (proba[:first] == 0.5).all()
