"""Configuration of model training."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

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
