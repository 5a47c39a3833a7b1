"""Configuration of graduated exposure: the gates between account modes, the first live
day and the weekly ramp-up (PIM's runbook), and the scalper's canary rollout, its guard
rails, its fail-safe and its release stages (the scalper's runbook)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tradeloop.core.config import FrozenConfig


class ToPaperGates(FrozenConfig):
    """What an RL agent's manifest must show before an account trades it on paper."""

    min_episodes: int = Field(100, ge=1, description="training episodes, at least")
    min_validation_return: float = Field(
        0.0, description="held-out validation total return must be above this"
    )


class ToLiveGates(FrozenConfig):
    """What the paper record and the pre-flight must show before real money."""

    min_paper_days: float = Field(14.0, ge=0, description="days in paper mode, at least")
    min_total_return: float = Field(0.0, description="paper total return must be above this")
    min_sharpe: float = Field(0.5, description="paper Sharpe (daily, annualised) above this")
    max_drawdown: float = Field(0.15, gt=0, lt=1, description="paper max drawdown below this")
    min_win_rate: float = Field(0.45, ge=0, le=1, description="paper win rate above this")
    min_trades: int = Field(50, ge=0, description="closed paper trades, at least")
    dry_run_max_age_hours: float = Field(
        24.0, gt=0, description="a simulate run with decisions this recent is required"
    )
    min_cash_usd: float = Field(10_000.0, ge=0, description="broker's available cash, at least")
    token_min_valid_s: float = Field(
        3600.0, ge=0, description="broker authentication must stay valid this long"
    )
    horizons: int = Field(100, ge=1, description="the prediction endpoint must answer these")
    probe_symbol: str = Field("AAPL", description="symbol of the prediction-endpoint probe")


class FirstDayLimits(FrozenConfig):
    """The risk limits of a live account's first trading day (runbook Phase 2)."""

    max_position_size: float = Field(0.10, gt=0, le=10, description="one position / equity")
    max_portfolio_heat: float = Field(0.30, gt=0, le=10, description="sum of |positions| / equity")
    daily_loss_limit: float = Field(0.02, gt=0, lt=1, description="day loss / equity: halt")
    max_daily_trades: int = Field(5, gt=0, description="orders adding risk that day")
    min_time_between_trades_s: float = Field(300.0, gt=0, description="seconds between trades")
    max_sector_exposure: float = Field(0.40, gt=0, le=10, description="one sector / equity")
    allowed_symbols: tuple[str, ...] | None = Field(
        ("AAPL", "MSFT", "GOOGL"), description="only these take new risk (null: any)"
    )
    trading_hours: tuple[str, str] | None = Field(
        ("10:00", "15:30"), description="new risk only inside this window (risk.trading_timezone)"
    )
    allow_short: bool = Field(False, description="may open short positions")


class RampStep(FrozenConfig):
    """One week of the ramp: how much may be deployed, and how large one position."""

    max_deployed_usd: float | None = Field(
        ..., gt=0, description="sum of |position values| in USD (null: the whole account)"
    )
    max_position_size: float = Field(..., gt=0, le=10, description="one position / equity")


def _default_ramp() -> tuple[RampStep, ...]:
    return (
        RampStep(max_deployed_usd=2_000, max_position_size=0.10),
        RampStep(max_deployed_usd=5_000, max_position_size=0.15),
        RampStep(max_deployed_usd=7_000, max_position_size=0.15),
        RampStep(max_deployed_usd=None, max_position_size=0.20),
    )


class PromotionConfig(FrozenConfig):
    """Account modes (backtest -> paper -> live): gates, first day, weekly ramp-up."""

    to_paper: ToPaperGates = Field(
        default_factory=ToPaperGates, description="backtest -> paper: the agent's training"
    )
    to_live: ToLiveGates = Field(
        default_factory=ToLiveGates, description="paper -> live: the record and the pre-flight"
    )
    first_day: FirstDayLimits = Field(
        default_factory=FirstDayLimits, description="the first live trading day's limits"
    )
    ramp: tuple[RampStep, ...] = Field(
        default_factory=_default_ramp,
        description="week 1, 2, ... of live trading; the last step holds from then on. A "
        "step is taken only after a profitable week, otherwise the ramp holds",
    )

    @model_validator(mode="after")
    def _ramp_present(self) -> PromotionConfig:
        if not self.ramp:
            raise ValueError("ramp: give at least one step (the limits of week 1)")
        return self


class RolloutConfig(FrozenConfig):
    """Scalper: how approved signals are routed between the real venue and paper."""

    mode: Literal["disabled", "canary", "full"] = Field(
        "full",
        description="with EXCHANGE_MODE=real: disabled sends every signal to the paper "
        "simulator, canary sends canary_fraction of them (a deterministic hash) to the real "
        "venue, full sends all there. Read once: afterwards the stored routing rules "
        "(tradeloop rollout set, a rollback, the release flow)",
    )
    canary_fraction: float = Field(0.10, ge=0, le=1, description="share routed to the venue")
    rng_seed: int = Field(1337, description="seed of the routing hash")


class RolloutGuardConfig(FrozenConfig):
    """Scalper: when a canary is rolled back on its own."""

    winrate_delta_pp: float = Field(
        5.0, ge=0, le=100, description="canary win rate this many points below the baseline"
    )
    min_sample: int = Field(50, ge=1, description="closed canary trades before win rates count")
    psi_block: float = Field(0.30, gt=0, description="any feature's PSI above this: roll back")
    ks_block: float = Field(0.20, gt=0, le=1, description="any feature's KS above this")
    drift_window_minutes: float = Field(30.0, gt=0, description="window of the drift check")
    drift_reference_minutes: float = Field(
        60.0, gt=0, description="scorer inputs kept as the reference before the canary"
    )
    drift_min_samples: int = Field(
        200, ge=20, description="scorer inputs each window needs before PSI / KS count"
    )
    parity_window_minutes: float = Field(10.0, gt=0, description="window of the parity check")
    cooldown_minutes: float = Field(15.0, ge=0, description="no new canary this long after")


class FailSafeConfig(FrozenConfig):
    """Scalper: a CRIT control event moves execution to the paper simulator."""

    switch_to_paper_on_crit: bool = Field(True, description="CRIT -> paper for the cooldown")
    cooldown_minutes: float = Field(15.0, ge=0, description="then back to the rollout's routing")


class ReleaseConfig(FrozenConfig):
    """Scalper: the stages of `tradeloop release` and their gates."""

    shadow_hours: float = Field(24.0, ge=0, description="shadow scoring, at least (a trading day)")
    canary_fraction: float = Field(0.10, gt=0, le=0.10, description="first canary share (5-10 %)")
    canary_hours: float = Field(2.0, ge=0, description="first canary, at least (2-4 h)")
    ramp: tuple[float, ...] = Field(
        (0.25, 0.50, 1.00), description="canary shares after the first; the last is full"
    )
    ramp_hours: float = Field(1.0, ge=0, description="each ramp stage, at least")
    freeze_hours: float = Field(24.0, ge=0, description="tau_entry / tau_hold frozen after")
    min_win_rate: float = Field(0.50, ge=0, le=1, description="pipeline simulation: win rate")
    min_avg_markout_bps: float = Field(0.0, description="pipeline simulation: mean markout")
    min_fill_rate: float = Field(0.25, ge=0, le=1, description="pipeline simulation: fill rate")
    parity_tolerance: float = Field(1e-5, gt=0, description="ONNX vs reference score tolerance")
    simulation_steps: int = Field(
        20_000,
        ge=100,
        description="pipeline simulation: tape updates per day type "
        "(normal, event: 6x volatility, high-vol: 3x)",
    )
