"""Classification and signal metrics on out-of-sample predictions, and naive baselines."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def expected_calibration_error(y_true: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean predicted| over equal-width probability bins."""
    if y_true.size == 0:
        return 0.0
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(index):
        mask = index == b
        total += mask.sum() * abs(float(y_true[mask].mean()) - float(p[mask].mean()))
    return float(total / y_true.size)


def classification_metrics(y_true: np.ndarray, p_up: np.ndarray) -> dict[str, float]:
    """AUC, PR-AUC, log loss, Brier, ECE, accuracy and the base rate of positives."""
    p = np.clip(p_up, 1e-6, 1 - 1e-6)
    two_classes = len(np.unique(y_true)) == 2
    return {
        "auc": float(roc_auc_score(y_true, p)) if two_classes else 0.5,
        "pr_auc": float(average_precision_score(y_true, p)) if two_classes else 0.0,
        "log_loss": float(log_loss(y_true, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y_true, p)),
        "ece": expected_calibration_error(y_true, p),
        "accuracy": float(np.mean((p >= 0.5) == (y_true == 1))),
        "base_rate": float(np.mean(y_true)),
        "samples": float(y_true.size),
    }


def signal_metrics(
    y_true: np.ndarray, p: np.ndarray, tau_entry: float, mfe_bps: np.ndarray, mae_bps: np.ndarray
) -> dict[str, float]:
    """What trading the signals p >= tau_entry would have taken: precision, count, and the
    average favourable / adverse excursion (bps) of those events."""
    taken = p >= tau_entry
    count = int(taken.sum())
    return {
        "precision_at_entry": float(y_true[taken].mean()) if count else 0.0,
        "signals": float(count),
        "avg_mfe_bps": float(np.nanmean(mfe_bps[taken])) if count else 0.0,
        "avg_mae_bps": float(np.nanmean(mae_bps[taken])) if count else 0.0,
    }


def naive_baseline_metrics(y_true: np.ndarray, train_base_rates: np.ndarray) -> dict[str, float]:
    """Metrics of always predicting the training window's base rate (no skill).

    Within a fold that predictor is constant, so it cannot rank: its AUC is 0.5 and its
    PR-AUC the base rate. Pooling folds whose base rates differ would give it a spurious
    ranking, hence the explicit values.
    """
    metrics = classification_metrics(y_true, train_base_rates)
    metrics["auc"] = 0.5
    metrics["pr_auc"] = float(np.mean(y_true)) if y_true.size else 0.0
    return metrics
