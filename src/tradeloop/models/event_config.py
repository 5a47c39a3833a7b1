"""Configuration of the pivot-event models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class EventTrainConfig(FrozenConfig):
    """What to train on pivot events."""

    targets: tuple[str, ...] = Field(
        ("held", "broke", "mfe_bps", "mae_bps"), min_length=1, description="targets to train"
    )
    horizons_bars: tuple[int, ...] = Field((5, 15, 60), min_length=1, description="horizons")
    algorithms: tuple[Literal["lightgbm", "random_forest"], ...] = Field(
        ("lightgbm", "random_forest"),
        min_length=1,
        description="algorithms compared per target x horizon; the best out of sample is kept",
    )
    folds: int = Field(4, ge=2, le=20, description="walk-forward folds")
    min_train_rows: int = Field(300, ge=50, description="rows in the first training window")
    min_rows: int = Field(500, ge=100, description="labelled rows needed per target/horizon")
    embargo_rows: int = Field(20, ge=0, description="rows dropped after each test fold")
    n_estimators: int = Field(150, ge=10, le=5000, description="LightGBM boosting rounds")
    learning_rate: float = Field(0.03, gt=0, le=1, description="LightGBM shrinkage per round")
    num_leaves: int = Field(7, ge=2, le=512, description="LightGBM leaves per tree")
    min_child_samples: int = Field(
        200, ge=1, description="LightGBM rows per leaf, at least (noisy targets: keep it large)"
    )
    rf_trees: int = Field(100, ge=10, le=2000, description="RandomForest trees")
    rf_max_depth: int = Field(8, ge=2, le=64, description="RandomForest maximum depth")
    rf_min_samples_leaf: int = Field(20, ge=1, description="RandomForest rows per leaf")
    calibrate: bool = Field(True, description="Platt-calibrate classifier probabilities")
    entry_quantile: float = Field(
        0.8, gt=0, lt=1, description="tau_entry = this quantile of calibrated OOS probabilities"
    )
    hold_quantile: float = Field(
        0.6, gt=0, lt=1, description="tau_hold = this quantile (never above tau_entry)"
    )
    seed: int = Field(7, description="random seed")
