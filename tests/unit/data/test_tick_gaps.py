"""The tick archive's gap scan and the instrument reference validator (the risk service's
data-health checks, and `tradeloop tools scan-gaps` / `validate-symbols`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tradeloop.core.errors import DataError
from tradeloop.data.instrument_reference import (
    InstrumentSpec,
    bundled_reference,
    mismatches,
    parse_reference,
)
from tradeloop.data.tick_gaps import scan_gaps
from tradeloop.store.tick_archive import TickArchive

DAY = 86_400 * 10**9
T0 = 1_767_571_200_000_000_000  # 2026-01-05 00:00 UTC
MS = 1_000_000


def _write(root: Path, symbol: str, date: str, name: str, ts: list[int]) -> None:
    folder = root / f"symbol={symbol}" / f"date={date}"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"ts": ts}, schema={"ts": pl.Int64}).write_parquet(folder / name)


def test_scan_when_files_overlap_out_of_order_with_duplicates_then_only_real_gaps(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "BTCUSDT", "2026-01-05", "b.parquet", [T0 + 300 * MS, T0 + 400 * MS])
    _write(tmp_path, "BTCUSDT", "2026-01-05", "a.parquet",
           [T0, T0 + 100 * MS, T0 + 300 * MS, T0 + 9_400 * MS])  # fmt: skip
    report = scan_gaps(tmp_path, max_gap_ms=1_000)
    assert report.symbols == {"BTCUSDT": 5}  # the duplicate counted once
    assert [(g.start_ns, g.end_ns) for g in report.gaps] == [(T0 + 400 * MS, T0 + 9_400 * MS)]
    assert report.largest_gap_ms() == {"BTCUSDT": 9_000.0}
    assert not report.clean


def test_scan_when_a_day_missing_or_a_file_damaged_then_reported(tmp_path: Path) -> None:
    _write(tmp_path, "ETHUSDT", "2026-01-05", "a.parquet", [T0])
    _write(tmp_path, "ETHUSDT", "2026-01-07", "a.parquet", [T0 + 2 * DAY])
    (tmp_path / "symbol=ETHUSDT" / "date=2026-01-07" / "bad.parquet").write_bytes(b"not parquet")
    report = scan_gaps(tmp_path, max_gap_ms=3 * DAY / MS)
    assert report.missing_dates == {"ETHUSDT": ["2026-01-06"]}
    assert len(report.unreadable) == 1
    assert "bad.parquet" in report.unreadable[0]


def test_scan_when_root_missing_then_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        scan_gaps(tmp_path / "nowhere", 1_000)


def test_archive_when_written_then_scan_reads_it_back(tmp_path: Path) -> None:
    archive = TickArchive(tmp_path, flush_rows=10_000)
    archive.add([{"kind": "book", "symbol": "BTCUSDT", "ts": T0 + n * 100 * MS,
                  "bids": [[1.0, 2.0]], "asks": [[1.1, 3.0]]} for n in range(50)])  # fmt: skip
    archive.add([{"kind": "trade", "symbol": "BTCUSDT", "ts": T0 + DAY, "price": 1.05,
                  "qty": 0.5, "side": "buy"}])  # fmt: skip
    archive.flush()
    report = scan_gaps(tmp_path, max_gap_ms=1_000)
    assert report.symbols == {"BTCUSDT": 51}
    assert len(report.gaps) == 1  # the night between the two days
    assert archive.files_written == 2


def test_reference_when_config_differs_then_each_field_named() -> None:
    reference = bundled_reference()
    ours = {
        "BTCUSDT": InstrumentSpec("BTCUSDT", 0.001, 0.1, 0.001, 0.0002, 0.00055),
        "ETHUSDT": InstrumentSpec("ETHUSDT", 0.01, 0.05, 0.01, 0.0001, 0.00055),
        "NOPEUSDT": InstrumentSpec("NOPEUSDT", 1, 1, 1, 0, 0),
    }
    found = [m.describe() for m in mismatches(ours, reference)]
    assert found == [
        "ETHUSDT.tick_size: configured 0.05, venue 0.01",
        "ETHUSDT.maker_fee: configured 0.0001, venue 0.0002",
        "NOPEUSDT: not in the reference table",
    ]


def test_reference_when_csv_bad_then_line_and_column_named() -> None:
    header = "symbol,lot_size,tick_size,min_qty,maker_fee,taker_fee\n"
    with pytest.raises(DataError, match=r"ref\.csv:3: tick_size = 'x'"):
        parse_reference(header + "A,1,1,1,0,0\nB,1,x,1,0,0\n", "ref.csv")
    with pytest.raises(DataError, match="missing column"):
        parse_reference("symbol,lot_size\nA,1\n", "ref.csv")
