"""A Gold DSL spec run on the first bins of a dataset: each output's summary and first
values (what a person checks before a spec goes into a serving)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.core.config import load_yaml_mapping, parse_config
from tradeloop.features.dsl.gold_dsl import GoldDslSpec, execute_dsl
from tradeloop.research.datasets import Dataset


def load_dsl(path: Path) -> GoldDslSpec:
    return parse_config(GoldDslSpec, load_yaml_mapping(path), str(path))


def preview_dsl(spec: GoldDslSpec, dataset: Dataset, bins: int = 500) -> dict[str, Any]:
    instrument = dataset.manifest["instrument"]
    cells = 2 * int(instrument["grid_half_width_ticks"]) + 1
    grid = {k: v[: bins * cells] for k, v in dataset.grid().items()}
    outputs = execute_dsl(spec, grid, cells, float(instrument["tick_size"]))
    summary = {}
    for name, values in outputs.items():
        if name == "bin_end_ns":
            continue
        data = np.asarray(values, dtype=np.float64)
        summary[name] = {
            "bins": int(data.size), "mean": float(data.mean()), "std": float(data.std()),
            "min": float(data.min()), "max": float(data.max()),
            "first": [round(float(v), 6) for v in data[:5]],
        }  # fmt: skip
    return {"spec": spec.name, "dataset": dataset.id, "outputs": summary}
