"""Classification metrics on out-of-sample predictions, and their naive baselines."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score


def classification_metrics(y_true: np.ndarray, p_up: np.ndarray) -> dict[str, float]:
    """AUC, log loss, accuracy and the base rate of positives."""
    p = np.clip(p_up, 1e-6, 1 - 1e-6)
    return {
        "auc": float(roc_auc_score(y_true, p)) if len(np.unique(y_true)) == 2 else 0.5,
        "log_loss": float(log_loss(y_true, p, labels=[0, 1])),
        "accuracy": float(np.mean((p >= 0.5) == (y_true == 1))),
        "base_rate": float(np.mean(y_true)),
        "samples": float(y_true.size),
    }


def naive_baseline_metrics(y_true: np.ndarray, train_base_rates: np.ndarray) -> dict[str, float]:
    """Metrics of always predicting the training window's base rate (no skill).

    Within a fold that predictor is constant, so it cannot rank: its AUC is 0.5. Pooling
    folds whose base rates differ would give it a spurious AUC, hence the explicit value.
    """
    metrics = classification_metrics(y_true, train_base_rates)
    metrics["auc"] = 0.5
    return metrics
