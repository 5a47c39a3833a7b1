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
