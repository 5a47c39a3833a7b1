"""The grid on the wire and on disk: Arrow batches with exactly SILVER_COLS, an IPC stream
that reads back equal, and a replay that writes the bins of a time range to Parquet, or
nothing at all when it fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource, read_all_mbo
from tradeloop.core.errors import DataError
from tradeloop.features.book.grid import SILVER_COLS, GridBuilder
from tradeloop.features.book.instrument import load_instrument
from tradeloop.features.book.wire import grid_batch, ipc_bytes
from tradeloop.usecases.mbo_replay import replay_grid

ROOT = Path(__file__).resolve().parents[4]
DAY = ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
ES = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(
    cell_width_ms=60_000, grid_half_width_ticks=5
)


def test_grid_batch_when_sent_as_ipc_then_read_back_equal() -> None:
    chunk = next(GridBuilder(ES).feed(read_all_mbo(DAY)))
    batch = grid_batch(chunk)
    assert batch.schema.names == list(SILVER_COLS)
    back = pa.ipc.open_stream(ipc_bytes(batch)).read_all()
    for name in SILVER_COLS:
        np.testing.assert_array_equal(back.column(name).to_numpy(), chunk[name])


def test_grid_batch_when_columns_differ_from_the_wire_then_refused() -> None:
    chunk = next(GridBuilder(ES).feed(read_all_mbo(DAY)))
    chunk.pop("j")
    with pytest.raises(DataError, match="wire schema"):
        grid_batch(chunk)


def test_replay_when_a_range_asked_then_only_its_bins_in_the_parquet(tmp_path: Path) -> None:
    start, end = 1703545200_000_000_000, 1703548800_000_000_000  # 23:00 to 00:00 UTC
    out = tmp_path / "es.parquet"
    run = replay_grid(DatabentoSource(), [DAY], ES, from_ns=start, to_ns=end, out=out)
    table = pq.read_table(out)
    assert table.schema.names == list(SILVER_COLS)
    ends = table.column("bin_end_ns").to_numpy()
    assert ends.min() > start
    assert ends.max() <= end
    assert run.bins == 60  # one a minute
    assert run.rows == table.num_rows == 60 * 11
    assert run.events == 68_792
    assert list(tmp_path.iterdir()) == [out]


class _Broken:
    def info(self, path: Path):  # type: ignore[no-untyped-def]
        return DatabentoSource().info(DAY)

    def events(self, path: Path):  # type: ignore[no-untyped-def]
        yield read_all_mbo(DAY)[:30_000]
        raise DataError("the file broke half way")

    def definition_tick(self, path: Path) -> int | None:
        return None


def test_replay_when_the_source_fails_then_no_file_is_left(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="half way"):
        replay_grid(_Broken(), [DAY], ES, out=tmp_path / "es.parquet")
    assert list(tmp_path.iterdir()) == []


def test_replay_from_a_moment_when_the_book_is_only_warmed_before_then_same_depths(
    tmp_path: Path,
) -> None:
    start, end = 1703545200_000_000_000, 1703548800_000_000_000
    warmed = replay_grid(
        DatabentoSource(), [DAY], ES, from_ns=start, to_ns=end, out=tmp_path / "w.parquet"
    )
    replay_grid(DatabentoSource(), [DAY], ES, to_ns=end, out=tmp_path / "all.parquet")
    assert warmed.bins == 60
    a = pq.read_table(tmp_path / "w.parquet")
    b = pq.read_table(tmp_path / "all.parquet")
    b = b.filter(pa.compute.greater(b.column("bin_end_ns"), start))
    for name in (
        "bin_end_ns",
        "price",
        "depth_qty_end",
        "add_qty",
        "pull_qty",
        "fill_qty",
        "best_bid",
        "best_ask",
    ):
        np.testing.assert_array_equal(
            a.column(name).to_numpy(), b.column(name).to_numpy(), err_msg=name
        )
