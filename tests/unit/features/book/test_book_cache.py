"""The book cache: a replay from a moment saves the warmed book; the next replay of that
range loads it, re-centres it on the BBO and gives the grid of a cold replay; a changed
file makes a new key; an unreadable checkpoint is rebuilt; a book saved and restored at
any event boundary goes on exactly as the book that never stopped."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.databento.mbo_file import DatabentoSource, read_all_mbo
from tradeloop.features.book.engine import M_BASE, M_BEST_ASK, M_BEST_BID, OrderBook
from tradeloop.features.book.events import F_LAST, mbo_events
from tradeloop.features.book.grid import SILVER_COLS, GridBuilder
from tradeloop.features.book.instrument import load_instrument
from tradeloop.store.book_cache import BookCache, cache_key, file_stamp
from tradeloop.usecases.mbo_replay import replay_grid

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "src" / "tradeloop" / "data" / "mbo"
NIGHT = DATA / "esh4-glbx-mdp3-20231224.mbo.dbn.zst"  # the snapshot the night before
DAY = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ES = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(
    cell_width_ms=1_000, grid_half_width_ticks=8
)
START, END = 1703545200_000_000_000, 1703546100_000_000_000  # 23:00 -> 23:15 UTC
TICK = 250_000_000


def _table(path: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy() for name in SILVER_COLS}


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in SILVER_COLS:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    copies = []
    for source in (NIGHT, DAY):  # copies: the test touches them
        copy = tmp_path / "raw" / source.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(source.read_bytes())
        copies.append(copy)
    return copies


def test_replay_when_cached_book_loaded_then_grid_equals_a_cold_replay(
    tmp_path: Path, files: list[Path]
) -> None:
    cache = BookCache(tmp_path / "cache")
    kwargs = {"from_ns": START, "to_ns": END}
    cold = replay_grid(DatabentoSource(), files, ES, out=tmp_path / "cold.parquet", **kwargs)
    built = replay_grid(
        DatabentoSource(), files, ES, out=tmp_path / "b.parquet", cache=cache, **kwargs
    )
    loaded = replay_grid(
        DatabentoSource(), files, ES, out=tmp_path / "l.parquet", cache=cache, **kwargs
    )
    assert (cold.cache, built.cache, loaded.cache) == (None, "built", "hit")
    assert cold.bins == loaded.bins == 900
    # the loaded run started where the warm-up ended: it read only what follows
    assert loaded.events < built.events
    _assert_same(_table(tmp_path / "l.parquet"), _table(tmp_path / "cold.parquet"))
    _assert_same(_table(tmp_path / "b.parquet"), _table(tmp_path / "cold.parquet"))
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_cache_key_when_a_file_changes_then_a_new_key(files: list[Path]) -> None:
    before = cache_key("future", "ESH4", START, [file_stamp(p) for p in files])
    assert len(before) == 16
    stat = files[1].stat()
    os.utime(files[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    after = cache_key("future", "ESH4", START, [file_stamp(p) for p in files])
    assert after != before
    assert cache_key("future", "ESH4", START + 1, [file_stamp(p) for p in files]) != after


def test_cache_when_checkpoint_unreadable_then_rebuilt_not_trusted(
    tmp_path: Path, files: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    cache = BookCache(tmp_path / "cache")
    kwargs = {"from_ns": START, "to_ns": END, "cache": cache}
    replay_grid(DatabentoSource(), files, ES, out=tmp_path / "a.parquet", **kwargs)
    (checkpoint,) = (tmp_path / "cache").glob("*.npz")
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])  # a torn file
    again = replay_grid(DatabentoSource(), files, ES, out=tmp_path / "b.parquet", **kwargs)
    assert again.cache == "built"
    assert "unreadable" in caplog.text
    _assert_same(_table(tmp_path / "b.parquet"), _table(tmp_path / "a.parquet"))


def test_saved_book_when_reanchored_then_window_centred_on_the_bbo() -> None:
    # the night's book holds far-away resting orders: restored, its window starts at the
    # lowest of them and need not hold the ticks around the mid the grid reads first
    events = np.concatenate([read_all_mbo(NIGHT), read_all_mbo(DAY)])
    book = OrderBook(TICK)
    book.apply(events[: int(np.searchsorted(events["ts_recv"], START))])
    restored = OrderBook.from_state(book.state())
    meta = restored._meta
    width = restored._levels.shape[1]
    assert meta[M_BASE] == book._meta[M_BASE] + int(np.flatnonzero(book._counts.any(axis=0))[0])
    restored.reanchor_to_bbo(ES.grid_half_width_ticks)
    mid = (meta[M_BEST_BID] + meta[M_BEST_ASK]) // 2
    assert abs(mid - restored._levels.shape[1] // 2) <= 1
    assert restored._levels.shape[1] >= width
    np.testing.assert_array_equal(restored.top(10), book.top(10))


def test_saved_book_when_not_reanchored_then_grid_still_widens_to_the_mid() -> None:
    # restored, a book of one bid and one ask has its window start at the bid: the grid's
    # ticks below the mid lie outside it, and the grid widens it rather than read them
    def events(ts: list[int], actions: bytes, sides: bytes, ids: list[int], ticks: list[int]):
        return mbo_events(
            ts_event=np.array(ts, dtype=np.int64),
            order_id=np.array(ids, dtype=np.uint64),
            price=np.array([(19_000 + t) * TICK for t in ticks], dtype=np.int64),
            size=np.full(len(ts), 5, dtype=np.int64),
            action=actions,
            side=sides,
            flags=np.full(len(ts), F_LAST),
        )

    second = 1_000_000_000
    warm = events([1, 2], b"AA", b"BA", [1, 2], [0, 1])
    rest = events([second * k for k in range(2, 8)], b"AACAMC", b"BABABA", [3, 4, 3, 5, 2, 4],
                  [-1, 3, -1, 2, 2, 3])  # fmt: skip
    grid_config = ES.with_changes(grid_half_width_ticks=6)
    warmed = OrderBook(TICK, window=4)
    warmed.apply(warm)
    restored = OrderBook.from_state(warmed.state())
    assert restored._meta[M_BEST_BID] - grid_config.grid_half_width_ticks < 0
    a = list(GridBuilder(grid_config, rows_per_chunk=64, book=restored).feed(rest))
    b = list(GridBuilder(grid_config, rows_per_chunk=64, book=warmed).feed(rest))
    assert len(a) == len(b) > 0
    for name in SILVER_COLS:
        np.testing.assert_array_equal(
            np.concatenate([p[name] for p in a]), np.concatenate([p[name] for p in b]), name
        )
    assert np.concatenate([p["depth_qty_end"] for p in a]).sum() > 0


event = st.tuples(
    st.sampled_from("AAAACCMMR"),
    st.sampled_from("AB"),
    st.integers(0, 30),
    st.integers(-40, 40),
    st.integers(0, 9),
    st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(event, min_size=2, max_size=80), st.data())
def test_book_when_saved_and_restored_at_a_boundary_then_goes_on_as_the_whole(
    rows: list[tuple[str, str, int, int, int, bool]], data: st.DataObject
) -> None:
    n = len(rows)
    events = mbo_events(
        ts_event=np.arange(n, dtype=np.int64),
        order_id=np.array([r[2] for r in rows], dtype=np.uint64),
        price=np.array([(19_000 + r[3]) * TICK for r in rows], dtype=np.int64),
        size=np.array([r[4] for r in rows], dtype=np.int64),
        action="".join(r[0] for r in rows).encode(),
        side="".join(r[1] for r in rows).encode(),
        flags=np.array([F_LAST if r[5] or i == n - 1 else 0 for i, r in enumerate(rows)]),
    )
    cut = data.draw(st.integers(1, n - 1))
    whole = OrderBook(TICK, capacity=4, window=4)
    one = whole.apply(events, depth=5)
    first = OrderBook(TICK, capacity=4, window=4)
    before = first.apply(events[:cut], depth=5)
    restored = OrderBook.from_state(first.state())
    restored.reanchor_to_bbo(data.draw(st.integers(1, 50)))
    after = restored.apply(events[cut:], depth=5)
    np.testing.assert_array_equal(np.concatenate([before.depth, after.depth]), one.depth)
    np.testing.assert_array_equal(restored.top(5), whole.top(5))
    assert restored.orders == whole.orders
