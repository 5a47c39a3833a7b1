"""Configuration of the data layer."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class QualityConfig(FrozenConfig):
    """Thresholds of the quality score."""

    min_score: float = Field(0.6, ge=0, le=1, description="accept at or above this score")
    extreme_spike_log_return: float = Field(
        0.5, gt=0, description="a bar-to-bar |log return| above this flags a spike"
    )
    holiday_allowance_pct: float = Field(
        4.0, ge=0, le=50, description="missing weekdays tolerated as exchange holidays"
    )
