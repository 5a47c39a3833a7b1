"""Walk-forward splits that purge labels overlapping the test window and embargo after it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Fold:
    """Row indices (into a ts-sorted frame) to train on and to test on."""

    train: np.ndarray
    test: np.ndarray


def walk_forward_folds(
    ts: np.ndarray,
    ts_matured: np.ndarray,
    *,
    folds: int,
    min_train_rows: int,
    embargo_bars: int,
) -> list[Fold]:
    """Expanding-window folds over rows sorted by ``ts``.

    A training row is kept only if its label matured before the test window starts (purge),
    and rows within ``embargo_bars`` after a test window never train a later fold.
    """
    n = ts.size
    if n != ts_matured.size:
        raise ValueError("ts and ts_matured must have the same length")
    if np.any(np.diff(ts) < 0):
        raise ValueError("rows must be sorted by ts")
    if n < min_train_rows + folds:
        raise ValueError(
            f"{n} labelled rows are too few for {folds} folds after {min_train_rows} training "
            "rows; use more data, fewer folds or a smaller min_train_rows"
        )
    edges = np.linspace(min_train_rows, n, folds + 1).astype(int)
    embargoed = np.zeros(n, dtype=bool)
    result = []
    for start, stop in itertools.pairwise(edges):
        candidates = np.arange(start)
        keep = (ts_matured[candidates] < ts[start]) & ~embargoed[candidates]
        result.append(Fold(train=candidates[keep], test=np.arange(start, stop)))
        embargoed[stop : stop + embargo_bars] = True
    return result
