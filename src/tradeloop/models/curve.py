"""Training the prediction curve: per anchor horizon, a LightGBM mean regressor and two
quantile regressors (the uncertainty band), evaluated walk-forward with purged folds
against naive curves (zero, and the training window's drift), then fitted on every
matured row and exported to ONNX with a parity check.

Labels are ``forward_return_labels``: from the next session's open to the open ``h``
sessions later, matured by ``as_of``. The skill report is honest: on daily returns it is
small, often negative for short horizons, and it is recorded as it comes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from tradeloop.core.errors import DataError
from tradeloop.features.curve_features import CURVE_SCHEMA
from tradeloop.models.config import CurveConfig
from tradeloop.models.curve_model import OUTPUTS, curve_filename
from tradeloop.models.onnx_export import (
    check_regression_parity,
    export_lightgbm,
    float32_thresholds,
)
from tradeloop.models.walk_forward import walk_forward_folds

PARITY_TOLERANCE = 1e-5


@dataclass(frozen=True, slots=True)
class AnchorSkill:
    """Out-of-sample figures of one anchor horizon, over every walk-forward test row."""

    horizon: int
    rows: int
    mse: float
    mse_zero: float
    mse_drift: float
    skill_vs_zero: float  # 1 - mse / mse_zero: > 0 beats the zero curve
    skill_vs_drift: float
    rank_ic: float  # Spearman correlation of prediction and outcome
    hit_rate: float  # sign agreement where the outcome is not 0
    band_coverage: float  # share of outcomes inside the quantile band

    def as_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class TrainedCurve:
    files: dict[str, bytes]
    skill: list[AnchorSkill]
    rows: int
    data_start_ns: int
    data_end_ns: int
    parity_max_abs: float
    symbols: list[str] = field(default_factory=list)


def _estimator(config: CurveConfig, output: str) -> lgb.LGBMRegressor:
    objective: dict[str, Any] = {"objective": "regression"}
    if output != "mean":
        alpha = config.quantiles[0] if output == "q_lo" else config.quantiles[1]
        objective = {"objective": "quantile", "alpha": alpha}
    return lgb.LGBMRegressor(
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
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
        **objective,
    )


def _rank_ic(prediction: np.ndarray, outcome: np.ndarray) -> float:
    if prediction.size < 3 or np.std(prediction) == 0 or np.std(outcome) == 0:
        return 0.0
    ranks = [np.argsort(np.argsort(a, kind="stable"), kind="stable") for a in (prediction, outcome)]
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def _skill(
    horizon: int, truth: np.ndarray, pred: np.ndarray, drift: np.ndarray, band: np.ndarray
) -> AnchorSkill:
    mse = float(np.mean((pred - truth) ** 2))
    mse_zero = float(np.mean(truth**2))
    mse_drift = float(np.mean((drift - truth) ** 2))
    moved = truth != 0
    hit = float(np.mean(np.sign(pred[moved]) == np.sign(truth[moved]))) if moved.any() else 0.0
    inside = float(np.mean((truth >= band[:, 0]) & (truth <= band[:, 1])))
    return AnchorSkill(
        horizon, int(truth.size), mse, mse_zero, mse_drift,
        1 - mse / mse_zero if mse_zero > 0 else 0.0,
        1 - mse / mse_drift if mse_drift > 0 else 0.0,
        _rank_ic(pred, truth), hit, inside,
    )  # fmt: skip


def _anchor_rows(
    features: pl.DataFrame, labels: pl.DataFrame, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ts, ts_matured, x, y) of the rows whose ``horizon`` label matured, by ts."""
    frame = (
        features.join(labels.select("symbol", "ts", f"fwd_ret_{horizon}", f"ts_matured_{horizon}"),
                      on=["symbol", "ts"])
        .drop_nulls()  # the first year of a symbol, before every window is full
        .sort("ts", "symbol")
    )  # fmt: skip
    return (
        frame["ts"].to_numpy(),
        frame[f"ts_matured_{horizon}"].to_numpy(),
        frame.select(CURVE_SCHEMA.names).to_numpy().astype(np.float64),
        frame[f"fwd_ret_{horizon}"].to_numpy().astype(np.float64),
    )


def evaluate_anchor(
    config: CurveConfig, horizon: int, ts: np.ndarray, matured: np.ndarray, x: np.ndarray,
    y: np.ndarray,
) -> AnchorSkill:  # fmt: skip
    """Walk-forward out-of-sample skill of one anchor (purged by label maturity, embargoed
    by the horizon)."""
    per_session = max(1, round(ts.size / max(1, np.unique(ts).size)))  # rows are symbols x days
    try:
        folds = walk_forward_folds(
            ts, matured, folds=config.folds, min_train_rows=config.min_train_rows,
            embargo_bars=horizon * per_session,
        )  # fmt: skip
    except ValueError as exc:
        raise DataError(f"curve horizon {horizon}: {exc}") from None
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("truth", "pred", "drift", "band")}
    for fold in folds:
        if fold.train.size < config.min_child_samples * 2:
            continue
        xt, yt, xs = x[fold.train], y[fold.train], x[fold.test]
        fitted = {o: _estimator(config, o).fit(xt, yt) for o in OUTPUTS}
        parts["truth"].append(y[fold.test])
        parts["pred"].append(np.asarray(fitted["mean"].predict(xs)))
        parts["drift"].append(np.full(fold.test.size, float(np.mean(yt))))
        band = [np.asarray(fitted[o].predict(xs)) for o in ("q_lo", "q_hi")]
        parts["band"].append(np.column_stack(band))
    if not parts["truth"]:
        raise DataError(
            f"curve horizon {horizon}: no fold had enough purged training rows. Fix: more "
            "history (tradeloop ingest), or a smaller curve.min_train_rows"
        )
    joined = {k: np.concatenate(v) for k, v in parts.items()}
    return _skill(horizon, joined["truth"], joined["pred"], joined["drift"], joined["band"])


def train_curve(
    features: pl.DataFrame,
    labels: pl.DataFrame,
    config: CurveConfig,
    on_anchor: Callable[[int], None] | None = None,
) -> TrainedCurve:
    """Evaluate and fit every anchor; the ONNX files of the final models."""
    files: dict[str, bytes] = {}
    skills: list[AnchorSkill] = []
    parity, rows, start, end = 0.0, 0, None, None
    for horizon in config.anchors:
        ts, matured, x, y = _anchor_rows(features, labels, horizon)
        skills.append(evaluate_anchor(config, horizon, ts, matured, x, y))
        for output in OUTPUTS:
            model = float32_thresholds(_estimator(config, output).fit(x, y))
            data = export_lightgbm(model, x.shape[1])
            sample = x[-min(500, x.shape[0]) :]
            parity = max(parity, check_regression_parity(model, data, sample, PARITY_TOLERANCE))
            files[curve_filename(horizon, output)] = data
        rows = max(rows, int(y.size))
        start = int(ts[0]) if start is None else min(start, int(ts[0]))
        end = int(ts[-1]) if end is None else max(end, int(ts[-1]))
        if on_anchor is not None:
            on_anchor(horizon)
    if start is None or end is None:
        raise DataError("the curve config names no anchor horizon")
    symbols = sorted(features["symbol"].unique().to_list())
    return TrainedCurve(files, skills, rows, start, end, parity, symbols)
