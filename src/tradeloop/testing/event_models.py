"""Small pivot-event training sets and trained versions for tests of the model path."""

from __future__ import annotations

import numpy as np
import polars as pl

from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.models.event_config import EventTrainConfig
from tradeloop.registry.registry import ModelRegistry
from tradeloop.usecases.model_training import TrainOutcome, register_event_models

TINY_CONFIG = EventTrainConfig(
    targets=("held", "mfe_bps"),
    horizons_bars=(5,),
    folds=3,
    min_train_rows=100,
    min_rows=100,
    embargo_rows=2,
    n_estimators=20,
    num_leaves=7,
    min_child_samples=10,
    rf_trees=10,
    rf_max_depth=4,
    rf_min_samples_leaf=5,
)

_START_NS = 1_700_000_000_000_000_000
_MINUTE_NS = 60_000_000_000


def stub_event_frame(
    n: int = 900,
    *,
    seed: int = 5,
    horizons: tuple[int, ...] = (5,),
    start_ns: int = _START_NS,
    edge: float = 1.5,
) -> pl.DataFrame:
    """``training_view``-shaped rows whose 'held' outcome depends on ``distance_bps`` (so a
    model can beat the base rate); nulls in one feature, as real data has."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    features = rng.normal(size=(n, len(EVENT_SCHEMA.names)))
    for j, name in enumerate(EVENT_SCHEMA.names):
        columns[name] = features[:, j]
    columns["gap_bps"] = [None if i % 50 == 0 else v for i, v in enumerate(features[:, 6])]
    held = rng.random(n) < 1 / (1 + np.exp(-edge * features[:, 0]))
    ts = start_ns + np.arange(n, dtype=np.int64) * _MINUTE_NS
    base = pl.DataFrame(
        {
            "event_id": [f"ev{seed}-{i}" for i in range(n)],
            "symbol": ["SPY"] * n,
            "ts_event": ts,
            **columns,
        }
    )
    frames = []
    for horizon in horizons:
        mfe = np.abs(rng.normal(20, 8, n)) + np.where(held, 10, 0)
        frames.append(
            base.with_columns(
                pl.lit(horizon).alias("horizon_bars"),
                pl.Series("label", np.where(held, "held", "broke")),
                pl.Series("mfe_bps", mfe + 3 * features[:, 0]),
                pl.Series("mae_bps", np.abs(rng.normal(15, 6, n))),
                pl.Series("ts_matured", ts + horizon * _MINUTE_NS),
            )
        )
    return pl.concat(frames)


def stub_event_version(
    registry: ModelRegistry,
    *,
    seed: int = 5,
    start_ns: int = _START_NS,
    config: EventTrainConfig = TINY_CONFIG,
    edge: float = 1.5,
) -> TrainOutcome:
    """Train tiny real models on a stub frame and register them as the candidate."""
    frame = stub_event_frame(seed=seed, start_ns=start_ns, horizons=config.horizons_bars, edge=edge)
    return register_event_models(registry, frame, config, allow_partial=False)
