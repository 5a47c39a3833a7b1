from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tradeloop.adapters.bundled import BUNDLED_DATASETS, BundledProvider
from tradeloop.core.errors import DataError
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import BarRequest


@pytest.mark.parametrize(
    ("symbol", "rows", "interval"),
    [
        ("^GSPC", 5031, 86_400),
        ("^IXIC", 5031, 86_400),
        ("GOOG", 2148, 86_400),
        ("EURUSD=X", 5000, 3600),
    ],
)
def test_history_when_symbol_bundled_then_real_rows_served(
    symbol: str, rows: int, interval: int
) -> None:
    bars = BundledProvider().history(symbol)
    assert bars.height == rows
    assert set(bars["bar_interval_sec"].to_list()) == {interval}
    assert bars["ts"].is_sorted()


def test_fetch_when_range_given_then_half_open_range_returned() -> None:
    bars = BundledProvider().fetch_bars(
        BarRequest("^GSPC", parse_ns("2008-01-01"), parse_ns("2009-01-01"), 86_400)
    )
    assert bars.height == 253
    assert bars["close"][-1] == pytest.approx(903.25, abs=0.01)  # S&P 500 close, 2008-12-31


def test_history_when_file_truncated_then_data_error_names_dataset_and_fix(tmp_path: Path) -> None:
    source = BUNDLED_DATASETS["^GSPC"].default_path()
    lines = gzip.decompress(source.read_bytes()).decode().splitlines()
    truncated = tmp_path / "sp500.csv.gz"
    truncated.write_bytes(gzip.compress("\n".join(lines[:1000]).encode()))
    with pytest.raises(DataError, match=r"\^GSPC.*truncated.*Fix: reinstall"):
        BundledProvider({"^GSPC": truncated}).history("^GSPC")


def test_history_when_gzip_cut_mid_stream_then_data_error(tmp_path: Path) -> None:
    source = BUNDLED_DATASETS["^IXIC"].default_path()
    broken = tmp_path / "nasdaq.csv.gz"
    broken.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(DataError, match=r"\^IXIC"):
        BundledProvider({"^IXIC": broken}).history("^IXIC")


def test_history_when_value_corrupt_then_data_error_names_problem(tmp_path: Path) -> None:
    source = BUNDLED_DATASETS["GOOG"].default_path()
    lines = source.read_text().splitlines()
    lines[10] = lines[10].replace(",", ",abc", 1)
    corrupt = tmp_path / "GOOG.csv"
    corrupt.write_text("\n".join(lines))
    with pytest.raises(DataError, match="GOOG"):
        BundledProvider({"GOOG": corrupt}).history("GOOG")


def test_fetch_when_unknown_symbol_or_interval_then_clear_error() -> None:
    provider = BundledProvider()
    with pytest.raises(DataError, match="no symbol 'AAPL'"):
        provider.fetch_bars(BarRequest("AAPL", 0, 10**18, 86_400))
    with pytest.raises(DataError, match="bar_interval_sec=3600"):
        provider.fetch_bars(BarRequest("EURUSD=X", 0, 10**18, 86_400))
