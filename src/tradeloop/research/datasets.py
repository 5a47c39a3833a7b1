"""Research datasets: a pipeline's bins and grid, content-addressed and written once.

``<lake>/research/datasets/<id>/`` holds ``bins.parquet`` (one row per bin: its end,
BBO, mid, ``valid``, BBO label), ``grid_clean.parquet`` (the silver grid rows of the valid
bins: mid 0 bins, like the 09:30 snap/clear, left out), ``manifest.json`` (the pipeline
spec, the instrument, the source files with their sha256, row counts and schemas) and
``checksums.json`` (sha256 of each file). The id is the sha256 of what decides the content
(format version, pipeline spec, instrument, source files' sha256), so generating the same
inputs again finds the dataset and writes nothing. A dataset is written in a folder beside
its place and renamed into it; every read verifies the checksums.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tradeloop.core.errors import DataError
from tradeloop.features.book.grid import SILVER_COLS
from tradeloop.features.book.instrument import InstrumentConfig
from tradeloop.features.book.wire import GRID_SCHEMA, grid_batch
from tradeloop.research.specs import PipelineSpec
from tradeloop.store.mbo_lake import sha256_of

FORMAT_VERSION = 1
FILES = ("bins.parquet", "grid_clean.parquet", "manifest.json")
BIN_COLS = ("bin_end_ns", "best_bid", "best_ask", "mid", "valid", "bbo_label")
BIN_SCHEMA = pa.schema([GRID_SCHEMA.field(name) for name in BIN_COLS])


def file_sha256(path: Path) -> str:
    """A raw file's sha256: its lake sidecar's when it has one, else computed."""
    sidecar = path.with_name(path.name + ".json")
    if sidecar.exists():
        recorded = json.loads(sidecar.read_text()).get("sha256")
        if isinstance(recorded, str):
            return recorded
    return sha256_of(path)


def dataset_id(
    pipeline: PipelineSpec, instrument: InstrumentConfig, files: list[tuple[str, str]]
) -> str:
    """``files``: (name, sha256) of each source file, in replay order."""
    decided = {
        "format": FORMAT_VERSION,
        "pipeline": pipeline.model_dump(mode="json", exclude={"name", "description"}),
        "instrument": instrument.model_dump(mode="json", exclude={"gold"}),
        "files": [digest for _, digest in files],
    }
    text = json.dumps(decided, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    path: Path
    manifest: dict[str, Any]

    def bins(self) -> dict[str, np.ndarray]:
        table = pq.read_table(self.path / "bins.parquet")
        return {name: table.column(name).to_numpy() for name in BIN_COLS}

    def grid(self) -> dict[str, np.ndarray]:
        table = pq.read_table(self.path / "grid_clean.parquet")
        return {name: table.column(name).to_numpy() for name in SILVER_COLS}


class DatasetStore:
    """Datasets under ``root`` (``<lake>/research/datasets``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self, dataset: str) -> bool:
        return (self.root / dataset / "checksums.json").exists()

    def write(
        self,
        dataset: str,
        manifest: dict[str, Any],
        grids: Iterable[dict[str, np.ndarray]],
        cells: int,
    ) -> tuple[Dataset, bool]:
        """Write the dataset from ``grids`` (silver chunks of whole bins); (dataset, whether
        it was written now). An existing dataset is left as it is."""
        final = self.root / dataset
        if self.exists(dataset):
            return self.open(dataset), False
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{dataset}.{os.getpid()}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        try:
            bins, rows = self._write_parquet(partial, grids, cells)
            manifest = {**manifest, "id": dataset, "format": FORMAT_VERSION,
                        "rows": {"bins.parquet": bins, "grid_clean.parquet": rows},
                        "schema": {"bins.parquet": list(BIN_COLS),
                                   "grid_clean.parquet": list(SILVER_COLS)}}  # fmt: skip
            (partial / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
            sums = {name: sha256_of(partial / name) for name in FILES}
            (partial / "checksums.json").write_text(json.dumps(sums, indent=2))
            try:
                os.rename(partial, final)
            except OSError:
                if not self.exists(dataset):  # not another writer's same dataset: a failure
                    raise
                return self.open(dataset), False
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return self.open(dataset), True

    @staticmethod
    def _write_parquet(
        folder: Path, grids: Iterable[dict[str, np.ndarray]], cells: int
    ) -> tuple[int, int]:
        bins = rows = 0
        with (
            pq.ParquetWriter(folder / "bins.parquet", BIN_SCHEMA) as bin_writer,
            pq.ParquetWriter(folder / "grid_clean.parquet", GRID_SCHEMA) as grid_writer,
        ):
            for grid in grids:
                first = {name: grid[name][::cells] for name in BIN_COLS}
                bin_writer.write_batch(pa.RecordBatch.from_pydict(first, schema=BIN_SCHEMA))
                bins += len(first["bin_end_ns"])
                keep = grid["valid"]
                if keep.any():
                    grid_writer.write_batch(grid_batch({k: v[keep] for k, v in grid.items()}))
                    rows += int(keep.sum())
        return bins, rows

    def open(self, dataset: str) -> Dataset:
        """The dataset, its files checked against their checksums first."""
        folder = self.root / dataset
        sums_path = folder / "checksums.json"
        if not sums_path.exists():
            known = sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))
            raise DataError(
                f"no dataset {dataset!r} in {self.root} (there: {', '.join(known) or 'none'})."
                " Fix: tradeloop research generate --pipeline NAME"
            )
        sums = json.loads(sums_path.read_text())
        for name in FILES:
            path = folder / name
            if not path.exists() or sha256_of(path) != sums.get(name):
                raise DataError(
                    f"dataset {dataset}: {name} does not match its checksum (changed or "
                    f"damaged). Fix: delete {folder} and generate it again"
                )
        return Dataset(dataset, folder, json.loads((folder / "manifest.json").read_text()))
