"""The ML health state of a day: ``healthy``, ``degrading`` or ``kill-switch``, with reasons.

Pure functions over matured predictions (calibrated P and what happened), the active
model's own out-of-sample figures and the services' reachability. The rules and their
thresholds are ``ReportConfig`` (config section ``report``); docs/runbook.md explains each
state and what to do about it. ``kill-switch`` stops ML-driven execution (``run``/``daemon``
refuse ML signals while the latest report says so); collection keeps going.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tradeloop.models.metrics import expected_calibration_error
from tradeloop.monitor.report_config import ReportConfig as ReportConfig

HEALTHY, DEGRADING, KILL_SWITCH = "healthy", "degrading", "kill-switch"
STATES = (HEALTHY, DEGRADING, KILL_SWITCH)


@dataclass(frozen=True, slots=True)
class HorizonHealth:
    """One classifier of the active model, judged on its matured predictions."""

    target: str
    horizon: int
    samples: int
    signals: int = 0  # predictions at or above tau_entry
    precision: float | None = None  # hit rate of the signals
    model_precision: float | None = None  # the model's own out-of-sample precision_at_entry
    auc: float | None = None
    brier: float | None = None
    ece: float | None = None
    calibration_gap: float | None = None  # mean P - observed rate (+: over-confident)

    @property
    def precision_drop(self) -> float | None:
        if self.precision is None or self.model_precision is None:
            return None
        return self.model_precision - self.precision


def horizon_health(
    target: str,
    horizon: int,
    y_true: np.ndarray,
    p: np.ndarray,
    tau_entry: float | None,
    model_precision: float | None,
) -> HorizonHealth:
    """Metrics of matured predictions ``p`` against outcomes ``y_true`` (0/1)."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    if y.size == 0:
        return HorizonHealth(target, horizon, 0, model_precision=model_precision)
    taken = p >= tau_entry if tau_entry is not None else np.zeros(y.size, dtype=bool)
    signals = int(taken.sum())
    auc = None
    if np.unique(y).size == 2:
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(y, p))
    return HorizonHealth(
        target=target,
        horizon=horizon,
        samples=int(y.size),
        signals=signals,
        precision=float(y[taken].mean()) if signals else None,
        model_precision=model_precision,
        auc=auc,
        brier=float(np.mean((p - y) ** 2)),
        ece=expected_calibration_error(y, p),
        calibration_gap=float(p.mean() - y.mean()),
    )


@dataclass(frozen=True, slots=True)
class HealthVerdict:
    state: str
    reasons: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def judge(
    horizons: list[HorizonHealth],
    model_age_hours: float | None,
    services: dict[str, bool],
    config: ReportConfig,
    *,
    stale_warn_hours: float,
    stale_max_hours: float,
) -> HealthVerdict:
    """The day's state and every reason for it (``model_age_hours`` None: no active model)."""
    kill: list[str] = []
    warn: list[str] = []
    if model_age_hours is None:
        warn.append("no active model: nothing to judge (train and promote one)")
    elif model_age_hours > stale_max_hours:
        kill.append(
            f"model trained on data ending {model_age_hours:.0f} h ago > stale_max_hours "
            f"{stale_max_hours:g}"
        )
    elif model_age_hours > stale_warn_hours:
        warn.append(f"model age {model_age_hours:.0f} h > stale_warn_hours {stale_warn_hours:g}")
    judged = [h for h in horizons if h.samples >= config.min_samples]
    for h in horizons:
        name = f"{h.target}@{h.horizon}"
        if h.samples < config.min_samples:
            warn.append(
                f"{name}: {h.samples} matured predictions < min_samples {config.min_samples}"
            )
            continue
        drop = h.precision_drop
        if drop is not None and drop >= config.warn_precision_drop:
            warn.append(
                f"{name}: precision {h.precision:.2f} vs the model's {h.model_precision:.2f} "
                f"(-{drop:.2f})"
            )
        if (
            h.calibration_gap is not None
            and abs(h.calibration_gap) >= config.calibration_drift_warn
        ):
            warn.append(f"{name}: calibration drift {h.calibration_gap:+.3f} (mean P - observed)")
        if h.ece is not None and h.ece >= config.ece_warn:
            warn.append(f"{name}: ECE {h.ece:.3f} >= {config.ece_warn:g}")
    drops = [h.precision_drop for h in judged]
    if judged and all(d is not None and d >= config.severe_precision_drop for d in drops):
        kill.append(
            f"precision down >= {config.severe_precision_drop:g} on every judged horizon "
            f"({', '.join(f'{h.target}@{h.horizon}' for h in judged)})"
        )
    for service, reachable in sorted(services.items()):
        if not reachable:
            warn.append(f"service {service} unreachable")
    if kill:
        return HealthVerdict(KILL_SWITCH, tuple(kill + warn), KILL_SWITCH_NOTES)
    if warn:
        return HealthVerdict(DEGRADING, tuple(warn), DEGRADING_NOTES)
    return HealthVerdict(HEALTHY, ("every threshold within range",), HEALTHY_NOTES)


KILL_SWITCH_NOTES = (
    "Stop ML-driven execution: `tradeloop run`/`daemon` refuse ML signals while this report "
    "says kill-switch (other strategies and risk exits are unaffected).",
    "Keep collecting: the collector and ingestion must stay on so the next model has data.",
    "Look first at the highest-confidence misses below and at the calibration drift.",
    "Then retrain (`tradeloop retrain`), check the gates' verdict, and re-run "
    "`tradeloop report daily`; a healthy report lifts the refusal.",
)
DEGRADING_NOTES = (
    "Keep trading with tighter risk limits (smaller risk.max_position_size, "
    "risk.daily_loss_limit).",
    "Prioritise retrain freshness and data quality: `tradeloop retrain`, then look at the "
    "data health section for stale or quarantined symbols.",
)
HEALTHY_NOTES = ("No action needed.",)
