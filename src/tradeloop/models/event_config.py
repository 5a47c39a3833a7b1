"""Configuration of the pivot-event models."""

from __future__ import annotations

from pydantic import Field

from tradeloop.core.config import FrozenConfig


class EventTrainConfig(FrozenConfig):
    """What to train on pivot events."""

    targets: tuple[str, ...] = Field(
        ("held", "broke", "mfe_bps", "mae_bps"), min_length=1, description="targets to train"
    )
    horizons_bars: tuple[int, ...] = Field((5, 15, 60), min_length=1, description="horizons")
    folds: int = Field(4, ge=2, le=20, description="walk-forward folds")
    min_train_rows: int = Field(300, ge=50, description="rows in the first training window")
    min_rows: int = Field(500, ge=100, description="labelled rows needed per target/horizon")
    embargo_rows: int = Field(20, ge=0, description="rows dropped after each test fold")
    n_estimators: int = Field(150, ge=10, le=5000, description="boosting rounds")
    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage per round")
    num_leaves: int = Field(15, ge=2, le=512, description="leaves per tree")
    min_child_samples: int = Field(50, ge=1, description="rows per leaf, at least")
    seed: int = Field(7, description="random seed")
