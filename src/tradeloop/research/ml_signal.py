"""The ML signal: LightGBM on the gold features, walked forward inside the dataset, its
decisions made by the exported ONNX model (what a serving would run).

``gold_lgbm`` (``horizon_bins``, ``folds``, ``threshold``): the valid bins are cut into
``folds`` consecutive folds; for each fold after the first, a classifier of "the mid is
higher ``horizon_bins`` valid bins later" is trained on the folds before it (bins whose
label reaches into the fold left out: no look-ahead), exported to ONNX with its
thresholds snapped to float32 (train/serve parity, checked), and the fold's probabilities
come from ONNX Runtime. +1 where P(up) crosses above ``0.5 + threshold``, -1 where it
crosses below ``0.5 - threshold``; the first fold never trades (nothing to learn from).
"""

from __future__ import annotations

import numpy as np

from tradeloop.research.signals import Columns, onsets

GOLD_FEATURES = (
    "pressure_variant", "vacuum_variant", "composite", "composite_d1", "composite_d2",
    "composite_d3", "state5_code", "spectrum_score",
)  # fmt: skip
MIN_TRAIN_ROWS = 200


def walk_forward_probabilities(
    features: np.ndarray, mid: np.ndarray, horizon: int, folds: int
) -> np.ndarray:
    """P(up) for each row (valid bins in order), 0.5 where no model could be trained."""
    import lightgbm as lgb

    from tradeloop.models.onnx_export import (
        check_parity,
        export_lightgbm,
        float32_thresholds,
        onnx_probabilities,
    )

    rows = len(mid)
    move = np.full(rows, np.nan)
    if rows > horizon:
        move[:-horizon] = mid[horizon:] - mid[:-horizon]
    usable = np.isfinite(move) & (move != 0)
    bounds = np.linspace(0, rows, folds + 1).astype(np.int64)
    proba = np.full(rows, 0.5)
    index = np.arange(rows)
    for fold in range(1, folds):
        start, end = int(bounds[fold]), int(bounds[fold + 1])
        train = usable & (index + horizon < start)  # its label is known before the fold
        labels = move[train] > 0
        if train.sum() < MIN_TRAIN_ROWS or labels.all() or not labels.any() or end <= start:
            continue
        model = lgb.LGBMClassifier(
            n_estimators=100, num_leaves=15, min_child_samples=50, learning_rate=0.05,
            subsample=1.0, colsample_bytree=1.0, random_state=0, n_jobs=1, deterministic=True,
            force_row_wise=True, verbose=-1,
        )  # fmt: skip
        model.fit(features[train], labels.astype(np.int32))
        model = float32_thresholds(model)
        onnx = export_lightgbm(model, features.shape[1])
        check_parity(model, onnx, features[start:end])
        proba[start:end] = onnx_probabilities(onnx, features[start:end])
    return proba


def gold_lgbm(bins: Columns, gold: Columns, params: dict[str, float]) -> np.ndarray:
    valid = np.asarray(bins["valid"], dtype=np.bool_)
    at = np.flatnonzero(valid)
    features = np.column_stack([gold[name][at] for name in GOLD_FEATURES]).astype(np.float32)
    proba = walk_forward_probabilities(
        features, np.asarray(bins["mid"])[at], int(params["horizon_bins"]), int(params["folds"])
    )
    threshold = params["threshold"]
    everywhere = np.ones(at.size, dtype=np.bool_)
    decided = np.zeros(at.size, dtype=np.int8)
    decided[onsets(proba > 0.5 + threshold, everywhere)] = 1
    decided[onsets(proba < 0.5 - threshold, everywhere)] = -1
    out = np.zeros(valid.size, dtype=np.int8)
    out[at] = decided
    return out
