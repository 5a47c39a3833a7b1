"""Train the demo's LightGBM direction classifier walk-forward and fit the final model
(the one ML line: ``models.model_artifact`` is shared with the pivot-event models)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.features.schema import FeatureSchema
from tradeloop.models.config import TrainConfig
from tradeloop.models.metrics import classification_metrics, naive_baseline_metrics
from tradeloop.models.model_artifact import out_of_sample
from tradeloop.models.walk_forward import walk_forward_folds


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Features and a binary target aligned row by row, sorted by ts."""

    symbols: np.ndarray
    ts: np.ndarray
    ts_matured: np.ndarray
    features: np.ndarray
    target: np.ndarray
    schema: FeatureSchema


@dataclass(frozen=True, slots=True)
class TrainResult:
    """The final model, its out-of-sample predictions and metrics against the baseline."""

    model: lgb.LGBMClassifier
    oos_ts: np.ndarray
    oos_symbols: np.ndarray
    oos_p_up: np.ndarray
    metrics: dict[str, float]
    baseline: dict[str, float]
    data_start_ns: int
    data_end_ns: int


def build_training_set(
    features: pl.DataFrame, labels: pl.DataFrame, schema: FeatureSchema, config: TrainConfig
) -> TrainingSet:
    """Join features with matured labels; drop rows with a missing feature or label."""
    horizon = config.target_horizon_bars
    target_col, matured_col = f"fwd_ret_{horizon}", f"ts_matured_{horizon}"
    if target_col not in labels.columns:
        raise DataError(f"labels have no horizon {horizon}; computed: {labels.columns}")
    frame = (
        features.join(labels.select("symbol", "ts", target_col, matured_col), on=["symbol", "ts"])
        .drop_nulls([*schema.names, target_col, matured_col])
        .sort("ts", "symbol")
    )
    if frame.is_empty():
        raise DataError("no rows with complete features and matured labels; ingest more history")
    return TrainingSet(
        symbols=frame["symbol"].to_numpy(),
        ts=frame["ts"].to_numpy(),
        ts_matured=frame[matured_col].to_numpy(),
        features=frame.select(schema.names).to_numpy().astype(np.float32),
        target=binary_target(frame[target_col].to_numpy(), config),
        schema=schema,
    )


def binary_target(forward_log_return: np.ndarray, config: TrainConfig) -> np.ndarray:
    """1 where the event the model predicts happened, else 0."""
    if config.target == "drawdown":
        return (forward_log_return < config.drawdown_log_return).astype(np.int32)
    return (forward_log_return > 0).astype(np.int32)


def _new_model(config: TrainConfig) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples,
        subsample=config.subsample,
        subsample_freq=1,
        colsample_bytree=config.colsample_bytree,
        reg_lambda=config.reg_lambda,
        random_state=config.seed,
        n_jobs=2,
        deterministic=True,  # the same model bits on every run (LightGBM's own switch)
        force_row_wise=True,
        verbose=-1,
    )


def train_walk_forward(
    data: TrainingSet,
    config: TrainConfig,
    on_fold: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Evaluate walk-forward out of sample, then fit the final model on every row."""
    folds = walk_forward_folds(
        data.ts,
        data.ts_matured,
        folds=config.folds,
        min_train_rows=config.min_train_rows,
        embargo_bars=config.embargo_bars,
    )
    predictions = out_of_sample(
        lambda x, y: _new_model(config).fit(x, y),
        True,
        data.features,
        data.target,
        folds,
        on_fold=on_fold,
    )
    index = np.concatenate([p.rows for p in predictions])
    p_up = np.concatenate([p.prediction for p in predictions])
    y = data.target[index]
    final = _new_model(config).fit(data.features, data.target)
    return TrainResult(
        model=final,
        oos_ts=data.ts[index],
        oos_symbols=data.symbols[index],
        oos_p_up=p_up,
        metrics=classification_metrics(y, p_up),
        baseline=naive_baseline_metrics(y, np.concatenate([p.reference for p in predictions])),
        data_start_ns=int(data.ts.min()),
        data_end_ns=int(data.ts.max()),
    )
