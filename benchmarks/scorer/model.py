"""The benchmark's model: one 100-tree RandomForest on the pivot-event features.

Deterministic (seeded data and forest), so the naive peers refit the very same forest at
start-up instead of unpickling one, and all servers answer the same probabilities.
"""

from __future__ import annotations

import numpy as np

from tradeloop.models.event_config import EventTrainConfig
from tradeloop.models.event_models import feature_matrix, make_estimator, target_dataset
from tradeloop.testing.event_models import stub_event_frame

ROWS = 5000
SEED = 5
CONFIG = EventTrainConfig(
    targets=("held",),
    horizons_bars=(5,),
    algorithms=("random_forest",),
    rf_trees=100,
    min_rows=100,
    min_train_rows=500,
    folds=3,
)


def training_frame():  # type: ignore[no-untyped-def]
    return stub_event_frame(n=ROWS, seed=SEED, horizons=(5,))


def native_forest():  # type: ignore[no-untyped-def]
    """The scikit-learn pipeline our training fits last (same data, same seed)."""
    data = target_dataset(training_frame(), "held", 5)
    features = feature_matrix(data)
    forest = make_estimator("random_forest", True, CONFIG).fit(features, data["y"].to_numpy())
    # Predicting one row on a worker pool costs milliseconds; the plain default is 1 job.
    return forest.set_params(forest__n_jobs=None)


def sample_rows(n: int, seed: int = 1) -> np.ndarray:
    data = target_dataset(stub_event_frame(n=n, seed=seed, horizons=(5,)), "held", 5)
    return feature_matrix(data)
