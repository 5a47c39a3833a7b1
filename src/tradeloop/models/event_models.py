"""Models of pivot-event outcomes, trained walk-forward per target and horizon.

Targets (from ``training_view``): ``held`` and ``broke`` (classification: did the level
hold / break within the horizon) and ``mfe_bps`` / ``mae_bps`` (regression). Each model is
LightGBM, evaluated out of sample on purged, embargoed walk-forward folds against a naive
baseline (the training base rate / median), then fitted on everything and exported to
ONNX with a parity check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.metrics import mean_absolute_error

from tradeloop.core.errors import DataError
from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.models.event_config import EventTrainConfig
from tradeloop.models.metrics import classification_metrics, naive_baseline_metrics
from tradeloop.models.onnx_export import check_parity, check_regression_parity, export_lightgbm
from tradeloop.models.walk_forward import walk_forward_folds

EVENT_MODELS_NAME = "pivot-events"
CLASSIFICATION = ("held", "broke")
REGRESSION = ("mfe_bps", "mae_bps")


@dataclass(frozen=True, slots=True)
class EventModel:
    """One trained, exported model and the evidence for it."""

    name: str
    target: str
    horizon: int
    onnx_bytes: bytes
    metrics: dict[str, float]
    baseline: dict[str, float]
    parity_max_abs: float
    rows: int
    data_start_ns: int
    data_end_ns: int

    def manifest(self) -> dict[str, Any]:
        return {
            "kind": "lightgbm-" + ("classifier" if self.target in CLASSIFICATION else "regressor"),
            "target": self.target,
            "horizon_bars": self.horizon,
            "feature_version": EVENT_SCHEMA.version,
            "feature_schema_hash": EVENT_SCHEMA.schema_hash,
            "features": list(EVENT_SCHEMA.names),
            "metrics": self.metrics,
            "baseline": self.baseline,
            "parity_max_abs": self.parity_max_abs,
            "rows": self.rows,
            "data_start_ns": self.data_start_ns,
            "data_end_ns": self.data_end_ns,
        }


def model_name(target: str, horizon: int) -> str:
    return f"pivot-{target.replace('_', '-')}-h{horizon}"


def _dataset(frame: pl.DataFrame, target: str, horizon: int) -> pl.DataFrame:
    subset = frame.filter(pl.col("horizon_bars") == horizon).sort("ts_event", "event_id")
    if target in CLASSIFICATION:
        return subset.with_columns((pl.col("label") == target).cast(pl.Int32).alias("y"))
    return subset.with_columns(pl.col(target).cast(pl.Float64).alias("y")).drop_nulls("y")


def train_event_model(
    frame: pl.DataFrame, target: str, horizon: int, config: EventTrainConfig
) -> EventModel:
    """Evaluate walk-forward, fit on all rows, export to ONNX; DataError when it cannot."""
    if target not in CLASSIFICATION + REGRESSION:
        raise DataError(f"unknown target {target!r}; known: {CLASSIFICATION + REGRESSION}")
    data = _dataset(frame, target, horizon)
    if data.height < config.min_rows:
        raise DataError(
            f"{model_name(target, horizon)}: {data.height} labelled rows < min_rows "
            f"{config.min_rows}; collect longer or lower train.min_rows"
        )
    features = data.select(EVENT_SCHEMA.names).to_numpy().astype(np.float32)
    y = data["y"].to_numpy()
    ts, matured = data["ts_event"].to_numpy(), data["ts_matured"].to_numpy()
    folds = walk_forward_folds(ts, matured, folds=config.folds,
                               min_train_rows=config.min_train_rows,
                               embargo_bars=config.embargo_rows)  # fmt: skip
    classify = target in CLASSIFICATION
    make = _classifier if classify else _regressor
    predictions, references, truths = [], [], []
    for fold in folds:
        if fold.train.size < 50:
            continue
        model = make(config).fit(features[fold.train], y[fold.train])
        if classify:
            predictions.append(np.asarray(model.predict_proba(features[fold.test]))[:, 1])
            references.append(np.full(fold.test.size, y[fold.train].mean()))
        else:
            predictions.append(np.asarray(model.predict(features[fold.test])))
            references.append(np.full(fold.test.size, np.median(y[fold.train])))
        truths.append(y[fold.test])
    if not predictions:
        raise DataError(f"{model_name(target, horizon)}: no fold had enough training rows")
    p, ref, truth = np.concatenate(predictions), np.concatenate(references), np.concatenate(truths)
    if classify:
        metrics = classification_metrics(truth.astype(np.int32), p)
        baseline = naive_baseline_metrics(truth.astype(np.int32), ref)
    else:
        metrics = {"mae": float(mean_absolute_error(truth, p)), "samples": float(truth.size)}
        baseline = {"mae": float(mean_absolute_error(truth, ref)), "samples": float(truth.size)}
    final = make(config).fit(features, y)
    onnx_bytes = export_lightgbm(final, features.shape[1])
    if classify:
        parity = check_parity(final, onnx_bytes, features)
    else:
        scale = max(float(np.std(y)), 1.0)
        parity = check_regression_parity(final, onnx_bytes, features, 1e-5 * scale)
    return EventModel(
        name=model_name(target, horizon),
        target=target,
        horizon=horizon,
        onnx_bytes=onnx_bytes,
        metrics=metrics,
        baseline=baseline,
        parity_max_abs=parity,
        rows=data.height,
        data_start_ns=int(ts.min()),
        data_end_ns=int(matured.max()),
    )


def train_event_models(
    frame: pl.DataFrame,
    config: EventTrainConfig,
    on_model: Callable[[str, str | None], None] | None = None,
) -> tuple[list[EventModel], dict[str, str]]:
    """Every target x horizon: the models that trained, and why the others did not."""
    models, failures = [], {}
    for target in config.targets:
        for horizon in config.horizons_bars:
            name = model_name(target, horizon)
            try:
                models.append(train_event_model(frame, target, horizon, config))
                error = None
            except DataError as exc:
                failures[name] = str(exc)
                error = str(exc)
            if on_model:
                on_model(name, error)
    return models, failures


def _classifier(config: EventTrainConfig) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
        n_estimators=config.n_estimators, learning_rate=config.learning_rate,
        num_leaves=config.num_leaves, min_child_samples=config.min_child_samples,
        random_state=config.seed, n_jobs=2, verbose=-1,
    )  # fmt: skip


def _regressor(config: EventTrainConfig) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(
        n_estimators=config.n_estimators, learning_rate=config.learning_rate,
        num_leaves=config.num_leaves, min_child_samples=config.min_child_samples,
        random_state=config.seed, n_jobs=2, verbose=-1,
    )  # fmt: skip
