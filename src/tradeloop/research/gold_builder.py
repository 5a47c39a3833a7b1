"""Offline gold: a dataset's gold features for one set of gold parameters, written beside
the dataset as ``gold_grid.<key>.parquet`` (one row per bin; invalid bins zero) with a
``.json`` sidecar (the parameters and the file's sha256), aside then renamed. The key is
the sha256 of the parameters, so each set has its own file and a second run of the same
set finds it (the runner reads it; each run of an experiment need not recompute it). The
computation is ``GoldRuntime``: the runtime live scoring uses.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tradeloop.core.errors import DataError
from tradeloop.features.book.gold import GoldConfig, GoldRuntime
from tradeloop.research.datasets import Dataset
from tradeloop.store.mbo_lake import sha256_of


def gold_key(config: GoldConfig) -> str:
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def gold_for_bins(dataset: Dataset, config: GoldConfig) -> dict[str, np.ndarray]:
    """The gold features of each bin of the dataset (zeros on invalid bins)."""
    instrument = dataset.manifest["instrument"]
    runtime = GoldRuntime(config, instrument["tick_size"], instrument["grid_half_width_ticks"])
    bins = dataset.bins()
    gold = runtime.update(dataset.grid())
    at = np.searchsorted(bins["bin_end_ns"], gold["bin_end_ns"])
    full: dict[str, np.ndarray] = {}
    for name, values in gold.items():
        column = np.zeros(len(bins["bin_end_ns"]), dtype=values.dtype)
        column[at] = values
        full[name] = column
    full["bin_end_ns"] = bins["bin_end_ns"]
    return full


def build_gold(dataset: Dataset, config: GoldConfig) -> tuple[Path, bool]:
    """The gold file of ``dataset`` for ``config``; (path, whether it was written now)."""
    key = gold_key(config)
    path = dataset.path / f"gold_grid.{key}.parquet"
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        if json.loads(sidecar.read_text()).get("sha256") != sha256_of(path):
            raise DataError(f"{path}: does not match its checksum. Fix: delete it and build again")
        return path, False
    gold = gold_for_bins(dataset, config)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        pq.write_table(pa.table(gold), partial)
        digest = sha256_of(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    sidecar.write_text(json.dumps({"gold": config.model_dump(mode="json"), "sha256": digest}))
    return path, True


def load_gold(dataset: Dataset, config: GoldConfig) -> dict[str, np.ndarray]:
    """The dataset's gold for ``config``: its gold file, built first if there is none."""
    path, _ = build_gold(dataset, config)
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy() for name in table.column_names}
