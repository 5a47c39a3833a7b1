"""The synthetic MBO day: written as real DBN that Databento's decoder reads back, the
same bytes for the same seed, every action kind, busier at the open and close than at
midday, and a book the engine rebuilds without one anomaly and never crossed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.databento.mbo_file import DatabentoSource, read_all_mbo
from tradeloop.adapters.databento.mbo_writer import write_mbo
from tradeloop.features.book.engine import OrderBook
from tradeloop.features.book.events import UNDEFINED_PRICE
from tradeloop.features.book.instrument import load_instrument
from tradeloop.usecases.mbo_synth import synthesize

ROOT = Path(__file__).resolve().parents[4]
RECORDS = 200_000


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("synth")
    es = load_instrument(ROOT / "config" / "instruments" / "esh4.yaml")
    paths = []
    for name in ("one.mbo.dbn.zst", "two.mbo.dbn.zst"):
        made = synthesize(
            write_mbo,
            folder / name,
            es,
            records=RECORDS,
            seed=11,
            day=date(2024, 1, 2),
            price=4800.0,
        )
        assert made.records >= RECORDS
        paths.append(made.path)
    return paths[0], paths[1]


def test_synthetic_day_when_made_twice_with_a_seed_then_the_same_bytes(
    day: tuple[Path, Path],
) -> None:
    assert day[0].read_bytes() == day[1].read_bytes()


def test_synthetic_day_when_decoded_then_real_mbo_of_the_instrument(day: tuple[Path, Path]) -> None:
    info = DatabentoSource().info(day[0])
    assert (info.dataset, info.schema, info.symbols) == ("GLBX.MDP3", "mbo", ("ESH4",))
    events = read_all_mbo(day[0])
    assert len(events) >= RECORDS
    assert {chr(a) for a in np.unique(events["action"])} == set("ACFMT")
    assert (np.diff(events["ts_recv"]) >= 0).all()
    assert (events["price"] % 250_000_000 == 0).all()


def test_synthetic_day_when_replayed_then_no_anomaly_and_never_crossed(
    day: tuple[Path, Path],
) -> None:
    book = OrderBook(250_000_000)
    trail = book.apply(read_all_mbo(day[0]))
    assert set(book.anomalies.values()) == {0}
    both = (trail.bbo[:, 0] != UNDEFINED_PRICE) & (trail.bbo[:, 3] != UNDEFINED_PRICE)
    assert both.all()
    assert (trail.bbo[:, 0] < trail.bbo[:, 3]).all()
    assert np.count_nonzero(np.diff(trail.bbo[:, 0])) > 100  # the price moves


def test_synthetic_day_when_counted_by_hour_then_busier_at_open_and_close(
    day: tuple[Path, Path],
) -> None:
    events = read_all_mbo(day[0])
    hours = ((events["ts_event"] - events["ts_event"][0]) // 3_600_000_000_000).astype(int)
    per_hour = np.bincount(hours)
    assert per_hour[0] > 1.5 * per_hour[3]
    assert per_hour[5] > 1.5 * per_hour[3]
