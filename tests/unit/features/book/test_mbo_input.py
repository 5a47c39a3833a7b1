"""Bad MBO input gets one clear error naming the file, where reading stopped and the fix,
and nothing of it is kept: truncated or corrupt files, an MBP file given as MBO, a file of
another instrument, time going backwards; the instrument file locks what may be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource, definition_ticks, read_all_mbo
from tradeloop.core.errors import ConfigError, DataError
from tradeloop.features.book.engine import OrderBook
from tradeloop.features.book.events import F_LAST, mbo_events
from tradeloop.features.book.instrument import InstrumentConfig, load_instrument
from tradeloop.features.book.ports import MboFileInfo
from tradeloop.usecases.mbo_book import book_at, import_files

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "src" / "tradeloop" / "data" / "mbo"
ES_DAY = DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"


def _es() -> InstrumentConfig:
    return load_instrument(ROOT / "config" / "instruments" / "esh4.yaml")


def test_truncated_file_when_read_then_error_names_file_and_fix(tmp_path: Path) -> None:
    cut = tmp_path / "cut.mbo.dbn.zst"
    cut.write_bytes(ES_DAY.read_bytes()[: ES_DAY.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cut\.mbo\.dbn\.zst: unreadable .* truncated or corrupt"):
        read_all_mbo(cut)


def test_junk_file_when_read_then_not_a_dbn_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dbn"
    junk.write_bytes(b"not dbn" * 50)
    with pytest.raises(DataError, match="not a DBN file"):
        read_all_mbo(junk)


def test_mbp_file_when_given_as_mbo_then_refused_saying_which_schema() -> None:
    with pytest.raises(DataError, match="holds mbp-10 records, not MBO"):
        read_all_mbo(DATA / "GLBX.MDP3.mbp-10.dbn.zst")


def test_definitions_when_read_then_tick_per_instrument_undefined_left_out() -> None:
    assert definition_ticks(DATA / "GLBX.MDP3.definition.dbn.zst") == {5482: 250_000_000}
    assert definition_ticks(DATA / "XNAS.ITCH.definition.dbn.zst") == {}  # INT64_MAX: undefined


def test_import_when_file_of_another_instrument_then_refused_naming_both(tmp_path: Path) -> None:
    with pytest.raises(DataError) as refused:
        import_files(DatabentoSource(), tmp_path, [DATA / "XNAS.ITCH.mbo.dbn.zst"], _es())
    assert "XNAS.ITCH" in str(refused.value)
    assert "GLBX.MDP3" in str(refused.value)
    assert not (tmp_path / "raw").exists()  # nothing half-written


def test_import_when_same_file_twice_then_once_in_the_lake(tmp_path: Path) -> None:
    first = import_files(DatabentoSource(), tmp_path, [ES_DAY], _es())
    again = import_files(DatabentoSource(), tmp_path, [ES_DAY], None)
    assert first[0].new is True
    assert again[0].new is False
    assert first[0].path == again[0].path
    assert "product_type=future/symbol=ES/table=market_by_order_dbn" in str(first[0].path)
    assert first[0].path.read_bytes() == ES_DAY.read_bytes()
    assert first[0].records == 68_792
    assert [p.name for p in first[0].path.parent.iterdir() if p.name.startswith(".")] == []


class _Backwards:
    """A source whose second chunk was received before the first ended."""

    def info(self, path: Path) -> MboFileInfo:
        return MboFileInfo("GLBX.MDP3", "mbo", ("ESH4",), 0, None)

    def events(self, path: Path):  # type: ignore[no-untyped-def]
        for start in (100, 50):
            yield mbo_events(
                ts_event=np.arange(start, start + 3),
                order_id=np.arange(3, dtype=np.uint64),
                price=np.full(3, 4800 * 250_000_000),
                size=np.ones(3),
                action=b"AAA",
                side=b"BBB",
                flags=np.full(3, F_LAST),
            )

    def definition_tick(self, path: Path) -> int | None:
        return None


def test_import_when_time_goes_backwards_then_refused_naming_the_record(tmp_path: Path) -> None:
    source = tmp_path / "x.mbo.dbn"
    source.write_bytes(b"x")
    with pytest.raises(DataError, match="record 3 was received before"):
        import_files(_Backwards(), tmp_path / "lake", [source], _es())
    assert not (tmp_path / "lake").exists()


def test_instrument_when_file_has_a_bad_key_then_config_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("symbol: ESH4\ndataset: GLBX.MDP3\nproduct_type: future\ntick_size: 0\n")
    with pytest.raises(ConfigError, match="tick_size"):
        load_instrument(bad)


def test_instrument_files_when_shipped_then_equal_to_the_project_examples() -> None:
    for name in ("esh4.yaml", "nvda.yaml"):
        shipped = (DATA / "instruments" / name).read_text()
        assert shipped == (ROOT / "config" / "instruments" / name).read_text()
    assert _es().tick == 250_000_000
    assert _es().lake_root == "ES"


def test_book_at_when_mid_session_then_whole_events_up_to_that_moment() -> None:
    events = read_all_mbo(ES_DAY)
    at = int(events["ts_recv"][30_000])
    result = book_at(DatabentoSource(), [ES_DAY], _es(), at, depth=10)
    upto = events[events["ts_recv"] <= at]
    last_complete = np.flatnonzero(upto["flags"] & F_LAST)[-1]
    assert result.events == last_complete + 1
    assert result.last_event_ns is not None
    assert result.last_event_ns <= at
    reference = OrderBook(250_000_000)
    reference.apply(events[: last_complete + 1])
    np.testing.assert_array_equal(result.levels, reference.top(10))
