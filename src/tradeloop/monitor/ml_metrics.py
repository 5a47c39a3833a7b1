"""The daily report's figures under the runbooks' names (``var/metrics/ml.prom``):
``psi_feature{feature}``, ``ks_feature{feature}``, ``brier_online{classifier}``,
``ece_online{classifier}``, ``rolling_precision{classifier}``, ``rollback_total``, the
health state and the model's age."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

from tradeloop.monitor.drift import FeatureDrift
from tradeloop.monitor.ml_health import STATES, HorizonHealth


def write_ml_metrics(
    path: Path,
    *,
    state: str,
    window: list[HorizonHealth],
    drift: list[FeatureDrift],
    model_age_hours: float | None,
    rollbacks: int,
) -> Path:
    registry = CollectorRegistry()
    psi = Gauge(
        "psi_feature",
        "PSI of a feature, training window vs report window",
        ["feature"],
        registry=registry,
    )
    ks = Gauge(
        "ks_feature",
        "KS statistic of a feature, training vs report window",
        ["feature"],
        registry=registry,
    )
    for d in drift:
        if d.psi is not None:
            psi.labels(d.feature).set(d.psi)
        if d.ks is not None:
            ks.labels(d.feature).set(d.ks)
    per = {
        "brier_online": ("Brier score of matured live predictions", "brier"),
        "ece_online": ("expected calibration error of matured live predictions", "ece"),
        "rolling_precision": ("precision of live signals (matured)", "precision"),
        "precision_baseline_active": ("the model's own OOS precision", "model_precision"),
        "matured_samples": ("matured live predictions judged", "samples"),
    }
    for name, (text, field) in per.items():
        gauge = Gauge(name, text, ["classifier"], registry=registry)
        for h in window:
            figure = getattr(h, field)
            if figure is not None:
                gauge.labels(f"{h.target}@{h.horizon}").set(figure)
    health = Gauge(
        "tradeloop_ml_health_state", "1 for the report's state", ["state"], registry=registry
    )
    for name in STATES:
        health.labels(name).set(1 if name == state else 0)
    age = Gauge(
        "tradeloop_model_age_hours",
        "hours since the model's training data ended",
        registry=registry,
    )
    if model_age_hours is not None:
        age.set(model_age_hours)
    Counter("rollback", "model rollbacks recorded", registry=registry).inc(rollbacks)
    Gauge(
        "tradeloop_ml_report_timestamp_seconds", "when the daily report ran", registry=registry
    ).set(time.time())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path
