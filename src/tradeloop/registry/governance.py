"""Governance gates for promoting a version to ``active`` (the PivotQuant MODEL_GOV_* rules).

Pure functions of two manifests (candidate, current active) and the configuration, so the
registry runs them inside its own promote and no caller can skip them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from tradeloop.core.config import FrozenConfig
from tradeloop.registry.gates import GateConfig, GateResult

DEFAULT_PARITY_TOLERANCE = 1e-5


class GovernanceConfig(FrozenConfig):
    """What a candidate must show before it replaces the active model."""

    required_targets: tuple[str, ...] = Field(
        (), description="targets the candidate must cover (beyond those the active covers)"
    )
    required_horizons: tuple[int, ...] = Field(
        (), description="horizons (bars) the candidate must cover (beyond the active's)"
    )
    min_trained_end_delta_ms: int = Field(
        0, ge=0, description="candidate trained_end must be at least this much after active's"
    )
    max_mfe_regression_bps: float = Field(
        5.0, ge=0, description="largest drop in avg MFE of taken signals vs active (bps)"
    )
    max_mae_worsening_bps: float = Field(
        5.0, ge=0, description="largest rise in avg MAE of taken signals vs active (bps)"
    )
    allow_feature_version_change: bool = Field(
        False, description="may the candidate use another feature version than the active?"
    )
    max_regression_mae_ratio: float = Field(
        1.02, gt=0, le=2, description="regressor MAE / naive-median MAE must be at most this"
    )


def model_entries(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """File name -> per-model manifest entry (a single-model version is its own entry)."""
    models = manifest.get("models")
    if isinstance(models, dict) and models:
        return models
    return {"model.onnx": manifest}


def _key(entry: dict[str, Any]) -> tuple[str, int | None]:
    horizon = entry.get("horizon_bars")
    return str(entry.get("target", "?")), int(horizon) if horizon is not None else None


def coverage(manifest: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {_key(entry) for entry in model_entries(manifest).values()}


class _Checks:
    def __init__(self) -> None:
        self.checks: dict[str, bool] = {}
        self.details: dict[str, str] = {}

    def add(self, name: str, passed: bool, detail: str) -> None:
        self.checks[name] = passed
        self.details[name] = detail

    def result(self) -> GateResult:
        reasons = tuple(f"{n}: {self.details[n]}" for n, ok in self.checks.items() if not ok)
        return GateResult(all(self.checks.values()), dict(self.checks), reasons, self.details)


def _names(keys: Iterable[tuple[str, int | None]]) -> str:
    return ", ".join(f"{t}@{h}" if h is not None else t for t, h in sorted(keys, key=str)) or "-"


def evaluate_governance(
    candidate: dict[str, Any],
    active: dict[str, Any] | None,
    governance: GovernanceConfig,
    baseline: GateConfig,
) -> GateResult:
    """Every MODEL_GOV rule, plus 'beats the naive baseline' and 'ONNX parity held'."""
    out = _Checks()
    entries = model_entries(candidate)
    have = coverage(candidate)
    targets = {t for t, _ in have}
    horizons = {h for _, h in have}
    missing_targets = set(governance.required_targets) - targets
    missing_horizons = set(governance.required_horizons) - horizons
    out.add(
        "required_targets",
        not missing_targets,
        f"missing {sorted(missing_targets)}" if missing_targets else "all present",
    )
    out.add(
        "required_horizons",
        not missing_horizons,
        f"missing {sorted(missing_horizons)}" if missing_horizons else "all present",
    )
    _baseline_checks(out, entries, governance, baseline)
    worst = max(
        (
            float(e.get("parity_max_abs", 0.0))
            - float(e.get("parity_tolerance", DEFAULT_PARITY_TOLERANCE))
            for e in entries.values()
        ),
        default=0.0,
    )
    out.add("onnx_parity", worst <= 0, "within tolerance" if worst <= 0 else "parity exceeded")
    if active is None:
        out.add("first_active", True, "no active model yet")
        return out.result()
    lost = coverage(active) - have
    out.add(
        "keeps_active_coverage",
        not lost,
        f"would drop {_names(lost)}" if lost else "covers everything active does",
    )
    delta_ms = int(candidate.get("trained_end_ns", 0)) - int(active.get("trained_end_ns", 0))
    delta_ms //= 1_000_000
    out.add(
        "trained_end_advance",
        delta_ms >= governance.min_trained_end_delta_ms,
        f"{delta_ms} ms after active (min {governance.min_trained_end_delta_ms})",
    )
    same = candidate.get("feature_version") == active.get("feature_version")
    out.add(
        "feature_version",
        same or governance.allow_feature_version_change,
        "unchanged"
        if same
        else f"{active.get('feature_version')} -> "
        f"{candidate.get('feature_version')}"
        + ("" if governance.allow_feature_version_change else " (not allowed)"),
    )
    _excursion_checks(out, entries, model_entries(active), active, governance)
    return out.result()


def _baseline_checks(
    out: _Checks,
    entries: dict[str, dict[str, Any]],
    governance: GovernanceConfig,
    baseline: GateConfig,
) -> None:
    failures = []
    for filename, entry in entries.items():
        metrics, base = entry.get("metrics") or {}, entry.get("baseline") or {}
        if "auc" in metrics:
            if metrics.get("samples", 0) < baseline.min_samples:
                failures.append(f"{filename} {metrics.get('samples', 0):.0f} OOS samples")
            if metrics["auc"] < base.get("auc", 0.5) + baseline.min_auc_edge:
                failures.append(
                    f"{filename} AUC {metrics['auc']:.4f} < baseline "
                    f"{base.get('auc', 0.5):.4f} + {baseline.min_auc_edge}"
                )
            if (
                metrics["log_loss"]
                >= base.get("log_loss", float("inf")) * baseline.max_log_loss_ratio
            ):
                failures.append(
                    f"{filename} log loss {metrics['log_loss']:.4f} not below "
                    f"baseline {base['log_loss']:.4f}"
                )
        elif "mae" in metrics and "mae" in base:
            ratio = metrics["mae"] / max(base["mae"], 1e-12)
            if ratio > governance.max_regression_mae_ratio:
                failures.append(
                    f"{filename} MAE {metrics['mae']:.2f} is {ratio:.3f}x the "
                    f"naive median's (max {governance.max_regression_mae_ratio})"
                )
    out.add("beats_baseline", not failures, "; ".join(failures) or "every model")


def _excursion_checks(
    out: _Checks,
    entries: dict[str, dict[str, Any]],
    active_entries: dict[str, dict[str, Any]],
    active: dict[str, Any],
    governance: GovernanceConfig,
) -> None:
    by_key = {_key(entry): entry for entry in active_entries.values()}
    mfe_fail, mae_fail, compared = [], [], 0
    for filename, entry in entries.items():
        previous = by_key.get(_key(entry))
        metrics = entry.get("metrics") or {}
        if previous is None or "avg_mfe_bps" not in metrics:
            continue
        # Prefer the active model scored on the candidate's own out-of-sample window.
        versus = entry.get("vs_active") or {}
        reference = (
            (
                versus.get("metrics")
                if versus.get("model_version_id") == active.get("model_version_id")
                else None
            )
            or previous.get("metrics")
            or {}
        )
        if "avg_mfe_bps" not in reference:
            continue
        compared += 1
        drop = reference["avg_mfe_bps"] - metrics["avg_mfe_bps"]
        rise = metrics["avg_mae_bps"] - reference["avg_mae_bps"]
        if drop > governance.max_mfe_regression_bps:
            mfe_fail.append(f"{filename} avg MFE -{drop:.1f} bps")
        if rise > governance.max_mae_worsening_bps:
            mae_fail.append(f"{filename} avg MAE +{rise:.1f} bps")
    out.add(
        "mfe_regression",
        not mfe_fail,
        "; ".join(mfe_fail)
        or f"within {governance.max_mfe_regression_bps} bps on {compared} models",
    )
    out.add(
        "mae_worsening",
        not mae_fail,
        "; ".join(mae_fail)
        or f"within {governance.max_mae_worsening_bps} bps on {compared} models",
    )


# What to do when a check refuses, in the operator's words (shown under the gate table).
NEXT_STEPS: dict[str, str] = {
    "required_targets": "train the missing targets (event_models.targets), or require fewer "
    "(governance.required_targets / MODEL_GOV_REQUIRED_TARGETS)",
    "required_horizons": "train the missing horizons (event_models.horizons_bars), or require "
    "fewer (governance.required_horizons / MODEL_GOV_REQUIRED_HORIZONS)",
    "beats_baseline": "a model that does not beat the naive baseline has no edge to serve. On "
    "the synthetic market that is expected (a random walk has none); train on real history "
    "(tradeloop collect --source bundled --symbols EURUSD=X --interval 1h --range 3600d "
    "--once, then labels build, export, train), or train only the targets that carry signal "
    "(event_models.targets). tradeloop models evaluate --force --reason TEXT promotes anyway, "
    "audited",
    "onnx_parity": "the exported ONNX files do not reproduce the trained models: retrain "
    "(tradeloop train); if it persists, report it with the version's manifest",
    "keeps_active_coverage": "train every target and horizon the active version serves (see "
    "tradeloop models show active), or retire them with --force --reason",
    "trained_end_advance": "collect newer data before training (the candidate must be trained "
    "past the active version's end by governance.min_trained_end_delta_ms)",
    "feature_version": "the features changed: set governance.allow_feature_version_change (or "
    "MODEL_GOV_ALLOW_FEATURE_VERSION_CHANGE=true) once the scorer and collector run this version",
    "mfe_regression": "the candidate's signals gain less than the active's: keep the active "
    "version, or look at the candidate's model card (tradeloop models show candidate)",
    "mae_worsening": "the candidate's signals lose more than the active's: keep the active "
    "version, or look at the candidate's model card (tradeloop models show candidate)",
}


def next_steps(gate: GateResult) -> list[str]:
    """One line per refusing check: what the operator can do about it."""
    return [
        f"{name}: {NEXT_STEPS[name]}"
        for name, ok in gate.checks.items()
        if not ok and name in NEXT_STEPS
    ]
