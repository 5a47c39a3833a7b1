"""Configuration of model training."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tradeloop.core.config import FrozenConfig


class TrainConfig(FrozenConfig):
    """LightGBM direction classifier trained and evaluated walk-forward."""

    target: Literal["drawdown", "up"] = Field(
        "drawdown",
        description="drawdown: forward log return below drawdown_log_return; up: above zero",
    )
    drawdown_log_return: float = Field(
        -0.02, lt=0, gt=-1, description="threshold of the drawdown target (log return)"
    )
    target_horizon_bars: int = Field(5, ge=1, le=250, description="label horizon, in bars")
    folds: int = Field(5, ge=2, le=20, description="walk-forward folds (expanding window)")
    min_train_rows: int = Field(750, ge=100, description="rows in the first training window")
    embargo_bars: int = Field(5, ge=0, description="bars dropped after each test fold")
    n_estimators: int = Field(100, ge=10, le=5000, description="boosting rounds")
    learning_rate: float = Field(0.03, gt=0, le=1, description="shrinkage per round")
    num_leaves: int = Field(4, ge=2, le=512, description="leaves per tree")
    min_child_samples: int = Field(200, ge=1, description="rows per leaf, at least")
    subsample: float = Field(0.8, gt=0, le=1, description="row fraction per tree")
    colsample_bytree: float = Field(0.8, gt=0, le=1, description="feature fraction")
    reg_lambda: float = Field(5.0, ge=0, description="L2 regularisation")
    seed: int = Field(7, description="random seed (same seed, same model)")


class ForecastConfig(FrozenConfig):
    """Return forecaster: ARIMA on log returns, EWMA mean when ARIMA cannot be trusted."""

    order: tuple[int, int, int] = Field((1, 0, 1), description="ARIMA (p, d, q) on log returns")
    horizons: tuple[int, ...] = Field(
        (1, 5, 20), min_length=1, description="bars ahead to forecast (cumulative log return)"
    )
    window: int = Field(500, ge=30, le=100_000, description="most recent returns fitted")
    min_observations: int = Field(
        60, ge=10, description="fewer returns than this: EWMA (counted as a fallback)"
    )
    max_iterations: int = Field(
        50, ge=1, le=10_000, description="optimizer iterations before ARIMA counts as failed"
    )
    ewma_span: int = Field(20, ge=2, description="span (bars) of the EWMA fallback's mean")

    @field_validator("horizons")
    @classmethod
    def _positive(cls, horizons: tuple[int, ...]) -> tuple[int, ...]:
        if min(horizons) < 1:
            raise ValueError(f"horizons {list(horizons)}: every horizon is at least 1 bar")
        return tuple(sorted(set(horizons)))


CURVE_HORIZONS = 100


class CurveConfig(FrozenConfig):
    """The multi-horizon prediction curve (``tradeloop curve train``). The defaults are
    strongly regularised: daily returns are mostly noise, and a curve that shrinks to the
    drift beats one that fits the noise out of sample."""

    anchors: tuple[int, ...] = Field(
        (1, 2, 5, 10, 20, 35, 50, 70, 85, 100),
        description="horizons (sessions) with a model of their own; the curve interpolates",
    )
    quantiles: tuple[float, float] = Field(
        (0.16, 0.84), description="the uncertainty band's quantiles (about +-1 sd)"
    )
    market: str = Field("SPY", description="the market reference series for regime features")
    growth: str = Field("QQQ", description="the growth reference series for regime features")
    hold_tstat: float = Field(
        0.5, ge=0, description="|return|/uncertainty below which the direction is HOLD"
    )
    folds: int = Field(4, ge=2, le=20, description="walk-forward folds for the skill report")
    min_train_rows: int = Field(1000, ge=100, description="rows in the first training window")
    n_estimators: int = Field(60, ge=10, le=5000, description="boosting rounds")
    learning_rate: float = Field(0.02, gt=0, le=1, description="shrinkage per round")
    num_leaves: int = Field(4, ge=2, le=512, description="leaves per tree")
    min_child_samples: int = Field(300, ge=1, description="rows per leaf, at least")
    subsample: float = Field(0.8, gt=0, le=1, description="row fraction per tree")
    colsample_bytree: float = Field(0.5, gt=0, le=1, description="feature fraction")
    reg_lambda: float = Field(5.0, ge=0, description="L2 regularisation")
    seed: int = Field(7, description="random seed (same seed, same model)")

    @field_validator("anchors")
    @classmethod
    def _anchors(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if (
            not value
            or list(value) != sorted(set(value))
            or value[0] != 1
            or value[-1] != CURVE_HORIZONS
        ):
            raise ValueError(f"anchors must rise strictly from 1 to {CURVE_HORIZONS}, got {value}")
        return value

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 < value[0] < 0.5 < value[1] < 1:
            raise ValueError(f"quantiles must be (low < 0.5 < high) in (0, 1), got {value}")
        return value


class AgentConfig(FrozenConfig):
    """The PIM trading agent (``tradeloop agent train``) and its environment."""

    algo: Literal["ppo", "branching-dqn"] = Field("ppo", description="learning algorithm")
    episodes: int = Field(100, ge=1, le=100_000, description="training episodes")
    episode_length: int = Field(100, ge=5, le=5_000, description="sessions per episode")
    sizes: tuple[float, ...] = Field(
        (0.04, 0.08, 0.12, 0.16, 0.20), description="position sizes (fractions of equity)"
    )
    fee_bps: float = Field(1.0, ge=0, description="fee per traded fraction, basis points")
    slippage_bps: float = Field(2.0, ge=0, description="slippage per traded fraction, bps")
    max_trades: int = Field(50, ge=1, description="changes of position per episode, at most")
    allow_short: bool = Field(True, description="may the agent go short?")
    stop_base: float = Field(0.02, gt=0, lt=1, description="stop-loss at risk_score 0")
    stop_risk: float = Field(0.08, ge=0, lt=1, description="stop-loss added per unit risk_score")
    validation_fraction: float = Field(
        0.2, ge=0, lt=0.9, description="last share of the range held out for validation"
    )
    benchmark: str = Field("SPY", description="the benchmark symbol of evaluations")
    curve_alias: str = Field("active", description="which curve version builds the states")
    patience: int = Field(0, ge=0, description="early stop after so many flat episodes (0: never)")
    seed: int = Field(7, description="random seed (same seed, same agent)")

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or list(value) != sorted(set(value)) or not 0 < value[0] <= value[-1] <= 0.2:
            raise ValueError(f"sizes must rise strictly within (0, 0.20], got {value}")
        return value
