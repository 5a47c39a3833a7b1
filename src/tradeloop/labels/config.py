"""Configuration of event labels."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class EventLabelConfig(FrozenConfig):
    """Horizons and barriers that define what happened after a touch."""

    horizons_bars: tuple[int, ...] = Field(
        (5, 15, 60), min_length=1, description="label horizons, in bars after the touch"
    )
    hold_bps: float = Field(
        10.0, gt=0, description="the level held: price moved this far away from it first"
    )
    break_bps: float = Field(
        10.0, gt=0, description="the level broke: price crossed it by this much first"
    )
