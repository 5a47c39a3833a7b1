"""Configuration of the execution engine and its simulated venue."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class ExecutionConfig(FrozenConfig):
    """Starting cash and the simulated venue's costs."""

    initial_cash_usd: float = Field(100_000.0, gt=0, description="starting cash")
    commission_rate: float = Field(
        0.0005, ge=0, lt=0.1, description="fraction of traded value, charged on every fill"
    )
    slippage_bps: float = Field(0.0, ge=0, le=500, description="adverse price move per fill")
    fee_fixed_usd: float = Field(0.0, ge=0, description="fixed fee per order (first fill)")
    impact_bps: float = Field(
        0.0, ge=0, le=10_000, description="extra slippage per unit of bar-volume share"
    )
    max_participation: float | None = Field(
        None, gt=0, le=1, description="largest share of a bar's volume one fill may take"
    )
    latency_ms: int = Field(0, ge=0, description="orders reach the simulated book this late")
    allow_short: bool = Field(True, description="may a sell exceed the held position?")
