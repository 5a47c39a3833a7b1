"""Configuration of pivot levels, touch detection and event features."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class PivotConfig(FrozenConfig):
    """Which levels exist and when a bar counts as touching one."""

    touch_tolerance_bps: float = Field(
        5.0, ge=0, le=500, description="a bar within this distance of a level touches it"
    )
    opening_range_minutes: int = Field(
        30, ge=1, le=390, description="opening range: high/low of the session's first minutes"
    )
    session_timezone: str = Field(
        "America/New_York", description="session dates of stocks (FX and crypto use UTC)"
    )
