"""Gold features of a silver grid file (a replay's Parquet), written beside the target
and renamed; the live stream's scoring runs the same ``GoldRuntime``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tradeloop.core.errors import DataError
from tradeloop.features.book.gold import GOLD_COLS, GoldRuntime
from tradeloop.features.book.grid import SILVER_COLS
from tradeloop.features.book.instrument import InstrumentConfig


def whole_bins(
    batches: Iterator[dict[str, np.ndarray]], cells: int
) -> Iterator[dict[str, np.ndarray]]:
    """Re-cut row batches (of any size) into runs of whole bins of ``cells`` rows."""
    carry: dict[str, np.ndarray] | None = None
    for batch in batches:
        if carry is not None:
            batch = {k: np.concatenate([carry[k], batch[k]]) for k in batch}
        whole = len(batch["bin_end_ns"]) // cells * cells
        if whole:
            yield {k: v[:whole] for k, v in batch.items()}
        carry = {k: v[whole:] for k, v in batch.items()}
    if carry is not None and len(carry["bin_end_ns"]):
        raise DataError(
            f"the grid ends with {len(carry['bin_end_ns'])} rows, not a whole bin of {cells}"
        )


def gold_from_grid(grid: Path, out: Path, instrument: InstrumentConfig) -> int:
    """The gold rows (one per bin) of ``grid``; returns how many bins."""
    try:
        source = pq.ParquetFile(grid)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(
            f"{grid}: not a grid file ({exc}). Fix: write one with tradeloop mbo replay --out"
        ) from exc
    names = tuple(source.schema_arrow.names)
    if names != SILVER_COLS:
        raise DataError(
            f"{grid}: columns {list(names)} are not the silver grid's. Fix: give the Parquet "
            "file of tradeloop mbo replay --out"
        )
    runtime = GoldRuntime(instrument.gold, instrument.tick_size, instrument.grid_half_width_ticks)
    batches = (
        {name: batch.column(name).to_numpy(zero_copy_only=False) for name in SILVER_COLS}
        for batch in source.iter_batches(batch_size=1 << 16)
    )
    partial = out.with_name(f".{out.name}.partial")
    bins = 0
    try:
        with pq.ParquetWriter(partial, _schema()) as writer:
            for part in whole_bins(batches, runtime.cells):
                gold = runtime.update(part)
                bins += len(gold["bin_end_ns"])
                writer.write_table(pa.table(gold, schema=_schema()))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return bins


def _schema() -> pa.Schema:
    types = {"bin_end_ns": pa.int64(), "valid": pa.bool_(), "state5_code": pa.int8()}
    return pa.schema([pa.field(n, types.get(n, pa.float64())) for n in GOLD_COLS])
