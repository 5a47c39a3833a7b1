"""The scalper's candidate classifier: a scaled logistic regression over the candidate
features (side-adjusted), trained on a chronological split, measured on the later part,
and exported as ONNX with the metadata the ai_scorer checks (``feature_names``,
``model_id``) and recorded parity rows it re-checks while serving."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeloop.core.errors import DataError
from tradeloop.features.tick_book import CANDIDATE_FEATURES

FEATURE_SCHEMA_HASH = hashlib.sha256(",".join(CANDIDATE_FEATURES).encode()).hexdigest()[:16]
PARITY_ROWS = 50
MIN_SAMPLES = 200


@dataclass(frozen=True, slots=True)
class TrainedClassifier:
    onnx: bytes
    metrics: dict[str, float]
    baseline: dict[str, float]
    parity: dict[str, list[Any]]  # features / probabilities recorded at training
    parity_max_abs: float


def _metrics(y: np.ndarray, p: np.ndarray, tau: float) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    chosen = p >= tau
    two_classes = 0 < int(y.sum()) < y.size
    return {
        "samples": float(y.size),
        "auc": float(roc_auc_score(y, p)) if two_classes else 0.5,
        "pr_auc": float(average_precision_score(y, p)) if two_classes else float(y.mean()),
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "precision": float(y[chosen].mean()) if chosen.any() else 0.0,
        "support": float(chosen.sum()),
        "base_rate": float(y.mean()),
    }


def train_classifier(
    features: np.ndarray,
    wins: np.ndarray,
    *,
    tau_entry: float,
    seed: int,
    holdout: float = 0.3,
    model_id: str = "",
) -> TrainedClassifier:
    """Fit on the first ``1 - holdout`` of the rows (time order), measure on the rest."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tradeloop.models.onnx_export import check_parity, export_sklearn

    n = wins.size
    if n < MIN_SAMPLES:
        raise DataError(
            f"{n} labelled candidates: at least {MIN_SAMPLES} are needed. Fix: "
            "record a longer tape (tradeloop scalper run) or a shorter horizon"
        )
    cut = int(n * (1 - holdout))
    x = features.astype(np.float32)
    if len(set(wins[:cut].tolist())) < 2:
        raise DataError(
            "the training part holds one class only: nothing to learn. Fix: "
            "a longer tape, or another --cost-bps"
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, random_state=seed))
    model.fit(x[:cut], wins[:cut])
    p = model.predict_proba(x[cut:])[:, 1]
    rate = float(np.clip(wins[:cut].mean(), 1e-6, 1 - 1e-6))
    held = wins[cut:]
    base_loss = -float(np.mean(held * math.log(rate) + (1 - held) * math.log(1 - rate)))
    onnx = _with_metadata(export_sklearn(model, x.shape[1]), model_id)
    gap = check_parity(model, onnx, x[cut:])
    rows = x[cut:][:PARITY_ROWS]
    return TrainedClassifier(
        onnx,
        _metrics(held, p, tau_entry),
        {"auc": 0.5, "log_loss": base_loss, "precision": float(held.mean())},
        {
            "features": rows.astype(float).tolist(),
            "probabilities": model.predict_proba(rows)[:, 1].astype(float).tolist(),
        },
        gap,
    )


def _with_metadata(onnx: bytes, model_id: str) -> bytes:
    import onnx as onnx_lib

    proto = onnx_lib.load_from_string(onnx)
    for key, value in (
        ("feature_names", ",".join(CANDIDATE_FEATURES)),
        ("model_id", model_id),
        ("feature_schema_hash", FEATURE_SCHEMA_HASH),
    ):
        if value:
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
    return bytes(proto.SerializeToString())


def onnx_schema_hash(onnx: bytes) -> str | None:
    """The feature schema hash an exported model carries in its metadata."""
    import onnx as onnx_lib

    proto = onnx_lib.load_from_string(onnx)
    props = {p.key: p.value for p in proto.metadata_props}
    names = props.get("feature_names")
    if props.get("feature_schema_hash"):
        return str(props["feature_schema_hash"])
    if names:
        return hashlib.sha256(names.encode()).hexdigest()[:16]
    return None


def regimes(volatility_bps: Sequence[float] | np.ndarray) -> dict[str, int]:
    """How many candidates fell in each volatility tercile (calm / normal / volatile)."""
    vol = np.asarray(volatility_bps, dtype=float)
    if vol.size == 0:
        return {"calm": 0, "normal": 0, "volatile": 0}
    low, high = np.quantile(vol, [1 / 3, 2 / 3])
    return {
        "calm": int((vol <= low).sum()),
        "normal": int(((vol > low) & (vol <= high)).sum()),
        "volatile": int((vol > high).sum()),
    }
