"""The daily ML report's settings (config section ``report``), apart from the report's
computation so reading the configuration never loads the metric libraries."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class ReportConfig(FrozenConfig):
    """The daily ML report: its window and the rules of its health state."""

    window_days: int = Field(20, ge=1, le=365, description="days of matured predictions judged")
    min_samples: int = Field(
        30, ge=1, description="matured predictions per active horizon below which: degrading"
    )
    warn_precision_drop: float = Field(
        0.08, gt=0, le=1, description="precision this far under the model's own OOS: degrading"
    )
    severe_precision_drop: float = Field(
        0.15,
        gt=0,
        le=1,
        description="this far under on every judged horizon: kill-switch",
    )
    calibration_drift_warn: float = Field(
        0.10, gt=0, le=1, description="|mean P - observed rate| at or above this: degrading"
    )
    ece_warn: float = Field(0.12, gt=0, le=1, description="expected calibration error: degrading")
    check_services: bool = Field(True, description="probe the scorer's and the collector's /health")
