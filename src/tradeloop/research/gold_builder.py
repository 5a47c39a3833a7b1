"""Offline gold: a dataset's gold features for one set of gold parameters, written beside
the dataset as ``gold_grid.<key>.parquet`` (one row per bin; invalid bins zero) with a
``.json`` sidecar (the parameters and the file's sha256), aside then renamed. The key is
the sha256 of the parameters, so each set has its own file and a second run of the same
set finds it. The computation is ``runner.gold_for_bins``: the runtime live scoring uses.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tradeloop.core.errors import DataError
from tradeloop.features.book.gold import GoldConfig
from tradeloop.research.datasets import Dataset
from tradeloop.research.runner import gold_for_bins
from tradeloop.research.specs import ServingSpec, SignalSpec
from tradeloop.store.mbo_lake import sha256_of


def gold_key(config: GoldConfig) -> str:
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_gold(dataset: Dataset, config: GoldConfig) -> tuple[Path, bool]:
    """The gold file of ``dataset`` for ``config``; (path, whether it was written now)."""
    key = gold_key(config)
    path = dataset.path / f"gold_grid.{key}.parquet"
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        if json.loads(sidecar.read_text()).get("sha256") != sha256_of(path):
            raise DataError(f"{path}: does not match its checksum. Fix: delete it and build again")
        return path, False
    serving = ServingSpec(
        name="gold", pipeline="gold", gold=config, signal=SignalSpec(name="composite_threshold")
    )
    gold = gold_for_bins(dataset, serving)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        pq.write_table(pa.table(gold), partial)
        digest = sha256_of(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    sidecar.write_text(json.dumps({"gold": config.model_dump(mode="json"), "sha256": digest}))
    return path, True
