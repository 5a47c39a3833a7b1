"""Replay an instrument's MBO files into its dense grid: as fast as it goes into Parquet
(``replay_grid``), or bin by bin for a stream (``grid_chunks``, paced by the caller).

With a start (``from_ns``) the book is only warmed up before it, and that warmed book is
saved in the book cache: a second replay of the same range loads it (then re-centres it on
the BBO) and starts where the warm-up ended, with the same grid as a cold replay.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tradeloop.features.book.engine import OrderBook
from tradeloop.features.book.events import F_LAST
from tradeloop.features.book.grid import GridBuilder
from tradeloop.features.book.instrument import InstrumentConfig, check_file
from tradeloop.features.book.ports import MboSource
from tradeloop.features.book.wire import GRID_SCHEMA, grid_batch
from tradeloop.store.book_cache import BookCache, cache_key, file_stamp


@dataclass(frozen=True, slots=True)
class ReplayRun:
    events: int
    bins: int
    rows: int
    seconds: float
    out: Path | None
    anomalies: dict[str, int]
    cache: str | None = None  # "hit", "built" or None (no start, or no cache)


@dataclass(slots=True)
class ReplayProgress:
    """What a replay has done so far (read by its caller while it yields); ``on_events``
    is told of each chunk of events applied."""

    on_events: Callable[[int], None] | None = None
    events: int = 0
    rows: int = 0
    cache: str | None = None
    anomalies: dict[str, int] = field(default_factory=dict)


def _warm_up_part(chunk: np.ndarray, from_ns: int) -> int:
    """How many leading events of ``chunk`` end before ``from_ns`` (whole events only)."""
    before = int(np.searchsorted(chunk["ts_recv"], from_ns, side="left"))
    if before == len(chunk):
        return before
    ends = np.flatnonzero(chunk["flags"][:before] & F_LAST)
    return int(ends[-1]) + 1 if ends.size else 0


def _in_range(
    grid: dict[str, np.ndarray], from_ns: int | None, to_ns: int | None
) -> dict[str, np.ndarray] | None:
    wanted = np.ones(len(grid["k"]), dtype=bool)
    if from_ns is not None:
        wanted &= grid["bin_end_ns"] > from_ns
    if to_ns is not None:
        wanted &= grid["bin_end_ns"] <= to_ns
    if not wanted.any():
        return None
    return grid if wanted.all() else {k: v[wanted] for k, v in grid.items()}


def grid_chunks(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    cache: BookCache | None = None,
    progress: ReplayProgress | None = None,
    rows_per_chunk: int = 1 << 16,
) -> Iterator[dict[str, np.ndarray]]:
    """Every file in order through one book; yields the grid rows (whole bins) ending in
    (from, to], as the wire's columns."""
    done = progress if progress is not None else ReplayProgress()
    for path in files:  # the lock first: no event is read from a file of another instrument
        info = source.info(path)
        check_file(instrument, str(path), info.dataset, info.symbols)
    key, book, start = None, None, (0, 0)
    if from_ns is not None and cache is not None:
        key = cache_key(
            instrument.product_type, instrument.symbol, from_ns, [file_stamp(p) for p in files]
        )
        saved = cache.load(key)
        if saved is not None:
            book = OrderBook.from_state(saved[0])
            book.reanchor_to_bbo(instrument.grid_half_width_ticks)
            start, done.cache = saved[1], "hit"
    builder = GridBuilder(instrument, rows_per_chunk=rows_per_chunk, book=book)
    warming = from_ns is not None and book is None
    data_end = None
    for index, path in enumerate(files):
        data_end = source.info(path).end_ns
        if index < start[0]:
            continue
        offset, skip = 0, start[1] if index == start[0] else 0
        for whole in source.events(path):
            chunk = whole[max(0, skip - offset) :]
            offset += len(whole)
            if not len(chunk):
                continue
            if to_ns is not None and chunk["ts_recv"][0] > to_ns:
                break
            warm = _warm_up_part(chunk, from_ns) if warming and from_ns is not None else 0
            if warm:  # before the range only the book matters: no grid to compute
                builder.book.apply(chunk[:warm], trail=False)
            if warming and warm < len(chunk):
                warming = False
                if cache is not None and key is not None:
                    resume = (index, offset - len(chunk) + warm)
                    cache.save(key, builder.book.state(), resume)
                    done.cache = "built"
            for grid in builder.feed(chunk[warm:]):
                kept = _in_range(grid, from_ns, to_ns)
                if kept is not None:
                    done.rows += len(kept["k"])
                    yield kept
            done.events += len(chunk)
            done.anomalies = builder.book.anomalies
            if done.on_events is not None:
                done.on_events(len(chunk))
    # the files' time is over: their last bins are final (up to the range's end)
    ends = [t for t in (data_end, to_ns) if t is not None]
    if ends:
        for grid in builder.close(min(ends)):
            kept = _in_range(grid, from_ns, to_ns)
            if kept is not None:
                done.rows += len(kept["k"])
                yield kept
    done.anomalies = builder.book.anomalies


def replay_grid(
    source: MboSource,
    files: list[Path],
    instrument: InstrumentConfig,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    out: Path | None = None,
    cache: BookCache | None = None,
    on_events: Callable[[int], None] | None = None,
) -> ReplayRun:
    """The grid of (from, to] as fast as it goes; with ``out``, written to Parquet beside
    the target and renamed (a failed replay leaves no file)."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    cells = 2 * instrument.grid_half_width_ticks + 1
    progress = ReplayProgress(on_events)
    partial = out.with_name(f".{out.name}.partial") if out else None
    writer = pq.ParquetWriter(partial, GRID_SCHEMA) if partial else None
    done = False
    try:
        for grid in grid_chunks(
            source, files, instrument, from_ns=from_ns, to_ns=to_ns, cache=cache,
            progress=progress,
        ):  # fmt: skip
            if writer is not None:
                writer.write_batch(grid_batch(grid))
        done = True
    finally:
        if writer is not None:
            writer.close()
        if not done and partial is not None:
            partial.unlink(missing_ok=True)
    if out is not None and partial is not None:
        os.replace(partial, out)
    return ReplayRun(
        progress.events,
        progress.rows // cells,
        progress.rows,
        time.perf_counter() - started,
        out,
        progress.anomalies,
        progress.cache,
    )
