"""Configuration of the execution engine and its simulated venue."""

from __future__ import annotations

from typing import Literal

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


class MlSignalConfig(FrozenConfig):
    """The ML-signal strategy: trade pivot touches the active model scores highly."""

    target: str = Field("held", pattern="^(held|broke)$", description="classifier to act on")
    horizon_bars: int = Field(15, gt=0, description="model horizon (bars) to act on")
    tau_entry: float | None = Field(
        None, gt=0, lt=1, description="enter at P >= this (unset: the model's own tau_entry)"
    )
    tau_hold: float | None = Field(
        None, gt=0, lt=1, description="keep while new signals have P >= this (unset: model's)"
    )
    take_profit_bps: float = Field(20.0, gt=0, description="exit when the trade gained this")
    stop_loss_bps: float = Field(15.0, gt=0, description="exit when the trade lost this")
    max_hold_bars: int | None = Field(
        None, gt=0, description="exit this many bars after the last signal (unset: horizon)"
    )
    fraction: float = Field(0.95, gt=0, le=1, description="share of equity per position")
    sizing: Literal["fraction", "scalper"] = Field(
        "fraction",
        description="fraction: `fraction` of equity; scalper: min(risk.notional_cap_usd, "
        "cash x risk.margin_leverage) / price, down to risk.lot_step",
    )
    allow_short: bool = Field(True, description="trade resistance touches short")


class BybitConfig(FrozenConfig):
    """The ``bybit_v5`` venue (through ccxt): product type and order flags."""

    category: Literal["linear", "inverse", "spot"] = Field(
        "linear", description="Bybit product type: linear (USDT perps), inverse or spot"
    )
    settle_coin: str = Field("USDT", description="settlement coin for positions and orders")
    post_only: bool = Field(False, description="send limit orders PostOnly (never take)")
    maker_only: bool = Field(
        False, description="PostOnly limits, and refuse market/stop orders before they leave"
    )
    reduce_only: bool = Field(
        True, description="mark orders that shrink a position reduceOnly (never reopen)"
    )
    recv_window_ms: int = Field(5000, gt=0, le=60_000, description="signature validity window")
    timeout_s: float = Field(10.0, gt=0, le=120, description="per-request timeout")
    symbols: dict[str, str] = Field(
        default_factory=dict,
        description="our symbol -> Bybit's (default: separators removed, BTC-USDT -> BTCUSDT)",
    )


class VenuesConfig(FrozenConfig):
    """Options of the real venues (``EXCHANGE_VENUE`` picks one)."""

    default_venue: str | None = Field(
        None, description="the venue live trading uses when EXCHANGE_VENUE is unset"
    )

    bybit_v5: BybitConfig = Field(
        default_factory=BybitConfig, description="Bybit V5 (EXCHANGE_VENUE=bybit_v5)"
    )
