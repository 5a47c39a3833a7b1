"""Replay an instrument's MBO files into its dense grid, as fast as it goes, and write
the bins of a time range to Parquet (beside the target, then renamed)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tradeloop.features.book.events import F_LAST
from tradeloop.features.book.grid import GridBuilder
from tradeloop.features.book.instrument import InstrumentConfig, check_file
from tradeloop.features.book.ports import MboSource
from tradeloop.features.book.wire import GRID_SCHEMA, grid_batch


@dataclass(frozen=True, slots=True)
class ReplayRun:
    events: int
    bins: int
    rows: int
    seconds: float
    out: Path | None
    anomalies: dict[str, int]


def _warm_up_part(chunk: np.ndarray, from_ns: int) -> int:
    """How many leading events of ``chunk`` end before ``from_ns`` (whole events only)."""
    before = int(np.searchsorted(chunk["ts_recv"], from_ns, side="left"))
    if before == len(chunk):
        return before
    ends = np.flatnonzero(chunk["flags"][:before] & F_LAST)
    return int(ends[-1]) + 1 if ends.size else 0


def replay_grid(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    out: Path | None = None,
    on_events: Callable[[int], None] | None = None,
) -> ReplayRun:
    """Every file in order through one book; the grid starts at ``from_ns`` (the book is
    only warmed up before it) and the bins ending in (from, to] are kept."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    builder = GridBuilder(instrument)
    cells = 2 * instrument.grid_half_width_ticks + 1
    events = rows = 0
    partial = out.with_name(f".{out.name}.partial") if out else None
    writer = pq.ParquetWriter(partial, GRID_SCHEMA) if partial else None
    done = False

    def keep(grids: Iterator[dict[str, np.ndarray]]) -> int:
        kept = 0
        for grid in grids:
            wanted = np.ones(len(grid["k"]), dtype=bool)
            if from_ns is not None:
                wanted &= grid["bin_end_ns"] > from_ns
            if to_ns is not None:
                wanted &= grid["bin_end_ns"] <= to_ns
            if wanted.any():
                kept += int(wanted.sum())
                if writer is not None:
                    writer.write_batch(grid_batch({k: v[wanted] for k, v in grid.items()}))
        return kept

    try:
        data_end = None
        for path in files:
            info = source.info(path)
            check_file(instrument, str(path), info.dataset, info.symbols)
            data_end = info.end_ns
            for chunk in source.events(path):
                if to_ns is not None and len(chunk) and chunk["ts_recv"][0] > to_ns:
                    break
                warm = _warm_up_part(chunk, from_ns) if from_ns is not None else 0
                if warm:  # before the range only the book matters: no grid to compute
                    builder.book.apply(chunk[:warm])
                rows += keep(builder.feed(chunk[warm:]))
                events += len(chunk)
                if on_events is not None:
                    on_events(len(chunk))
        # the files' time is over: their last bins are final (up to the range's end)
        until = min(t for t in (data_end, to_ns) if t is not None) if data_end or to_ns else None
        if until is not None:
            rows += keep(builder.close(until))
        done = True
    finally:
        if writer is not None:
            writer.close()
        if not done and partial is not None:
            partial.unlink(missing_ok=True)  # a failed replay leaves no half file
    if out is not None and partial is not None:
        os.replace(partial, out)
    return ReplayRun(
        events, rows // cells, rows, time.perf_counter() - started, out, builder.book.anomalies
    )
