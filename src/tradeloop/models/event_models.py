"""Models of pivot-event outcomes, trained walk-forward per target and horizon.

Targets (from ``training_view``): ``held`` and ``broke`` (classification: did the level
hold / break within the horizon) and ``mfe_bps`` / ``mae_bps`` (regression). For each
target x horizon every configured algorithm (LightGBM, RandomForest) is evaluated out of
sample on purged, embargoed walk-forward folds against a naive baseline (the training base
rate / median); the better one (Brier for classifiers, MAE for regressors) is fitted on all
rows, exported to ONNX and parity-checked.

Classifier probabilities are calibrated (Platt) by a calibrator fitted only on earlier
folds' out-of-sample predictions, so the reported metrics are honest; the served calibrator
is fitted on every out-of-sample prediction. The entry / hold thresholds are quantiles of
the calibrated out-of-sample probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import Pipeline

from tradeloop.core.errors import DataError
from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.models.calibration import PlattCalibration, fit_platt
from tradeloop.models.event_config import EventTrainConfig
from tradeloop.models.metrics import (
    classification_metrics,
    naive_baseline_metrics,
    signal_metrics,
)
from tradeloop.models.model_artifact import (
    ExportedModel,
    export_fitted,
    model_entry,
    out_of_sample,
)
from tradeloop.models.onnx_export import PARITY_TOLERANCE, float32_thresholds
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
    algorithm: str
    onnx_bytes: bytes
    metrics: dict[str, float]
    baseline: dict[str, float]
    parity_max_abs: float
    rows: int
    data_start_ns: int
    data_end_ns: int
    calibration: PlattCalibration | None = None
    tau_entry: float | None = None
    tau_hold: float | None = None
    challengers: dict[str, dict[str, float]] = field(default_factory=dict)
    oos_event_ids: tuple[str, ...] = ()
    probe: dict[str, list[Any]] = field(default_factory=dict)
    parity_tolerance: float = PARITY_TOLERANCE

    @property
    def classify(self) -> bool:
        return self.target in CLASSIFICATION

    @property
    def filename(self) -> str:
        return f"{self.name}.onnx"

    def manifest(self) -> dict[str, Any]:
        exported = ExportedModel(
            self.onnx_bytes, self.parity_max_abs, self.parity_tolerance, self.probe
        )
        entry = model_entry(
            exported,
            algorithm=self.algorithm,
            classify=self.classify,
            target=self.target,
            horizon=self.horizon,
            calibration=self.calibration,
            feature_version=EVENT_SCHEMA.version,
            feature_schema_hash=EVENT_SCHEMA.schema_hash,
            features=list(EVENT_SCHEMA.names),
            metrics=self.metrics,
            baseline=self.baseline,
            challengers=self.challengers,
            rows=self.rows,
            data_start_ns=self.data_start_ns,
            data_end_ns=self.data_end_ns,
        )
        if self.classify:
            entry["thresholds"] = {"tau_entry": self.tau_entry, "tau_hold": self.tau_hold}
        return entry


def model_name(target: str, horizon: int) -> str:
    return f"pivot-{target.replace('_', '-')}-h{horizon}"


def feature_matrix(frame: pl.DataFrame) -> np.ndarray:
    """Rows x schema features as float32, nulls as NaN (what the ONNX models take)."""
    return (
        frame.select(pl.col(name).cast(pl.Float64) for name in EVENT_SCHEMA.names)
        .to_numpy()
        .astype(np.float32)
    )


def target_dataset(frame: pl.DataFrame, target: str, horizon: int) -> pl.DataFrame:
    subset = frame.filter(pl.col("horizon_bars") == horizon).sort("ts_event", "event_id")
    if target in CLASSIFICATION:
        return subset.with_columns((pl.col("label") == target).cast(pl.Int32).alias("y"))
    return subset.with_columns(pl.col(target).cast(pl.Float64).alias("y")).drop_nulls("y")


@dataclass(frozen=True, slots=True)
class _Evaluation:
    """Out-of-sample evidence for one algorithm on one target x horizon."""

    metrics: dict[str, float]
    baseline: dict[str, float]
    calibration: PlattCalibration | None
    tau_entry: float | None
    tau_hold: float | None
    rows: np.ndarray  # row indices the metrics were computed on
    score: float  # lower is better (Brier or MAE)


def _evaluate(
    algorithm: str,
    classify: bool,
    config: EventTrainConfig,
    data: pl.DataFrame,
    features: np.ndarray,
    folds: list[Any],
) -> _Evaluation:
    y = data["y"].to_numpy()

    def fit(x: np.ndarray, target: np.ndarray) -> Any:
        return fit_estimator(algorithm, classify, config, x, target)

    raw = [
        (p.rows, p.prediction, p.reference)
        for p in out_of_sample(fit, classify, features, y, folds)
    ]
    if not classify:
        rows = np.concatenate([r for r, _, _ in raw])
        p = np.concatenate([q for _, q, _ in raw])
        ref = np.concatenate([b for _, _, b in raw])
        mae = float(mean_absolute_error(y[rows], p))
        return _Evaluation(
            metrics={"mae": mae, "samples": float(rows.size)},
            baseline={"mae": float(mean_absolute_error(y[rows], ref)), "samples": float(rows.size)},
            calibration=None,
            tau_entry=None,
            tau_hold=None,
            rows=rows,
            score=mae,
        )
    # Each fold is calibrated only with what earlier folds predicted out of sample.
    scored = raw[1:] if len(raw) > 1 else raw
    calibrated = []
    for index, (_, prediction, _) in enumerate(raw):
        if len(raw) > 1 and index == 0:
            continue
        history = raw[:index]
        calibrator = (
            fit_platt(
                np.concatenate([q for _, q, _ in history]),
                np.concatenate([y[r] for r, _, _ in history]),
            )
            if history and config.calibrate
            else PlattCalibration()
        )
        calibrated.append(calibrator.apply(prediction))
    rows = np.concatenate([r for r, _, _ in scored])
    p = np.concatenate(calibrated)
    ref = np.concatenate([b for _, _, b in scored])
    truth = y[rows].astype(np.int32)
    tau_entry = float(np.quantile(p, config.entry_quantile))
    tau_hold = float(min(np.quantile(p, config.hold_quantile), tau_entry))
    metrics = classification_metrics(truth, p)
    mfe, mae_bps = data["mfe_bps"].to_numpy()[rows], data["mae_bps"].to_numpy()[rows]
    metrics.update(signal_metrics(truth, p, tau_entry, mfe, mae_bps))
    baseline = naive_baseline_metrics(truth, ref)
    all_rows = np.concatenate([r for r, _, _ in raw])
    final_calibration = (
        fit_platt(np.concatenate([q for _, q, _ in raw]), y[all_rows])
        if config.calibrate
        else PlattCalibration()
    )
    return _Evaluation(
        metrics, baseline, final_calibration, tau_entry, tau_hold, rows, score=metrics["brier"]
    )


def train_event_model(
    frame: pl.DataFrame, target: str, horizon: int, config: EventTrainConfig
) -> EventModel:
    """Evaluate each algorithm walk-forward, fit the best on all rows, export to ONNX;
    DataError when it cannot."""
    if target not in CLASSIFICATION + REGRESSION:
        raise DataError(f"unknown target {target!r}; known: {CLASSIFICATION + REGRESSION}")
    name = model_name(target, horizon)
    data = target_dataset(frame, target, horizon)
    if data.height < config.min_rows:
        raise DataError(
            f"{name}: {data.height} labelled rows < min_rows {config.min_rows}; collect "
            "longer or lower event_models.min_rows"
        )
    features = feature_matrix(data)
    y = data["y"].to_numpy()
    ts, matured = data["ts_event"].to_numpy(), data["ts_matured"].to_numpy()
    folds = [
        fold
        for fold in walk_forward_folds(
            ts,
            matured,
            folds=config.folds,
            min_train_rows=config.min_train_rows,
            embargo_bars=config.embargo_rows,
        )
        if fold.train.size >= 50
    ]
    if not folds:
        raise DataError(f"{name}: no walk-forward fold had enough training rows")
    classify = target in CLASSIFICATION
    evaluations = {
        algorithm: _evaluate(algorithm, classify, config, data, features, folds)
        for algorithm in config.algorithms
    }
    algorithm = min(evaluations, key=lambda a: evaluations[a].score)
    best = evaluations[algorithm]
    final = fit_estimator(algorithm, classify, config, features, y)
    exported = export_fitted(final, algorithm, classify, features, y)
    event_ids = data["event_id"].to_numpy()
    return EventModel(
        name=name,
        target=target,
        horizon=horizon,
        algorithm=algorithm,
        onnx_bytes=exported.onnx_bytes,
        metrics=best.metrics,
        baseline=best.baseline,
        parity_max_abs=exported.parity_max_abs,
        rows=data.height,
        data_start_ns=int(ts.min()),
        data_end_ns=int(matured.max()),
        calibration=best.calibration,
        tau_entry=best.tau_entry,
        tau_hold=best.tau_hold,
        challengers={a: e.metrics for a, e in evaluations.items() if a != algorithm},
        oos_event_ids=tuple(str(event_id) for event_id in event_ids[best.rows]),
        probe=exported.probe,
        parity_tolerance=exported.parity_tolerance,
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


def score_on_window(
    frame: pl.DataFrame,
    model: EventModel,
    predict: Callable[[np.ndarray], np.ndarray],
    entry: dict[str, Any],
    after_ns: int = 0,
) -> dict[str, float]:
    """Metrics of another model (``predict`` = its calibrated probabilities or regression
    output, ``entry`` = its manifest entry) on ``model``'s out-of-sample rows after
    ``after_ns`` (rows the other model never trained on, when that is its trained_end)."""
    data = target_dataset(frame, model.target, model.horizon)
    data = data.filter(
        pl.col("event_id").is_in(list(model.oos_event_ids)) & (pl.col("ts_event") > after_ns)
    )
    if data.is_empty():
        return {"samples": 0.0}
    features = feature_matrix(data)
    y = data["y"].to_numpy()
    prediction = predict(features)
    if not model.classify:
        return {"mae": float(mean_absolute_error(y, prediction)), "samples": float(y.size)}
    truth = y.astype(np.int32)
    metrics = classification_metrics(truth, prediction)
    tau = (entry.get("thresholds") or {}).get("tau_entry")
    tau_entry = float(tau) if tau is not None else float(np.quantile(prediction, 0.8))
    metrics.update(
        signal_metrics(
            truth, prediction, tau_entry, data["mfe_bps"].to_numpy(), data["mae_bps"].to_numpy()
        )
    )
    return metrics


def fit_estimator(
    algorithm: str, classify: bool, config: EventTrainConfig, features: np.ndarray, y: np.ndarray
) -> Any:
    """``make_estimator`` fitted on two threads, then set to predict on one: a forest's
    threads add their trees' probabilities in whatever order they finish, which changes
    the last bits of a score from one run to the next (training stays bit-reproducible)."""
    model = make_estimator(algorithm, classify, config).fit(features, y)
    if algorithm == "random_forest":
        model.set_params(forest__n_jobs=1)
    if algorithm == "lightgbm":
        model = float32_thresholds(model)  # what ONNX serves decides every row the same
    return model


def make_estimator(algorithm: str, classify: bool, config: EventTrainConfig) -> Any:
    if algorithm == "lightgbm":
        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        # A regression is judged by MAE against the naive median: fit the conditional
        # median (L1), not the mean, which a skewed MFE / MAE distribution pulls away.
        return cls(
            objective=None if classify else "l1",
            n_estimators=config.n_estimators,
            learning_rate=config.learning_rate,
            num_leaves=config.num_leaves,
            min_child_samples=config.min_child_samples,
            random_state=config.seed,
            n_jobs=2,
            # The same model bits on every run and thread count (LightGBM's own switch).
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
    if algorithm == "random_forest":
        forest_cls = RandomForestClassifier if classify else RandomForestRegressor
        forest = forest_cls(
            n_estimators=config.rf_trees,
            max_depth=config.rf_max_depth,
            min_samples_leaf=config.rf_min_samples_leaf,
            random_state=config.seed,
            n_jobs=2,
        )
        # Median imputation travels into ONNX with the forest, so serving sees what training saw.
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("forest", forest),
            ]
        )
    raise DataError(f"unknown algorithm {algorithm!r}; known: lightgbm, random_forest")
