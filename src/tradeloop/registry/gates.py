"""Promotion gates: pure functions deciding whether a candidate may go live."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class GateConfig(FrozenConfig):
    """A candidate must beat the naive baseline out of sample by these margins."""

    min_auc_edge: float = Field(0.02, ge=0, le=0.5, description="AUC above the baseline's")
    max_log_loss_ratio: float = Field(
        1.0, gt=0, le=2, description="candidate log loss / baseline log loss must be below"
    )
    min_samples: int = Field(250, ge=1, description="out-of-sample rows needed")


@dataclass(frozen=True, slots=True)
class GateResult:
    """The decision and every check behind it."""

    passed: bool
    checks: dict[str, bool]
    reasons: tuple[str, ...]
    details: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_baseline_gate(
    metrics: dict[str, float], baseline: dict[str, float], config: GateConfig
) -> GateResult:
    """Pass only if the candidate beats the naive baseline on AUC and log loss."""
    checks = {
        "enough_samples": metrics["samples"] >= config.min_samples,
        "auc_beats_baseline": metrics["auc"] >= baseline["auc"] + config.min_auc_edge,
        "log_loss_beats_baseline": metrics["log_loss"]
        < baseline["log_loss"] * config.max_log_loss_ratio,
    }
    reasons = []
    if not checks["enough_samples"]:
        reasons.append(f"only {metrics['samples']:.0f} OOS samples < {config.min_samples}")
    if not checks["auc_beats_baseline"]:
        reasons.append(
            f"AUC {metrics['auc']:.4f} < baseline {baseline['auc']:.4f} + {config.min_auc_edge}"
        )
    if not checks["log_loss_beats_baseline"]:
        reasons.append(
            f"log loss {metrics['log_loss']:.4f} not below baseline {baseline['log_loss']:.4f}"
        )
    return GateResult(passed=all(checks.values()), checks=checks, reasons=tuple(reasons))
