"""Configuration of the risk layer."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class RiskConfig(FrozenConfig):
    """Hard limits applied to every order in every mode."""

    max_position_notional_usd: float = Field(
        10_000_000.0, gt=0, description="largest |position| value allowed after a fill"
    )
    max_order_notional_usd: float = Field(
        10_000_000.0, gt=0, description="largest single order value"
    )
    max_gross_leverage: float = Field(
        1.0, gt=0, le=10, description="position value after a fill / equity, at most"
    )
