"""The dense grid: its wire columns are exactly SILVER_COLS; depth is conserved bin to bin
(end = previous end + added - pulled - filled at every price seen twice); rest is clamped
to [0, end]; the derivative chain follows its EMA definition; bins where a side is empty
are marked invalid with mid 0; the grid of a replay split in chunks equals one replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.databento.mbo_file import read_all_mbo
from tradeloop.features.book.events import F_LAST, mbo_events
from tradeloop.features.book.grid import SILVER_COLS, GridBuilder
from tradeloop.features.book.instrument import InstrumentConfig, load_instrument

ROOT = Path(__file__).resolve().parents[4]
TICK = 250_000_000


def _es(**changes: object) -> InstrumentConfig:
    return load_instrument(ROOT / "config" / "instruments" / "esh4.yaml").with_changes(**changes)


def _grid(instrument: InstrumentConfig, *chunks: np.ndarray) -> dict[str, np.ndarray]:
    builder = GridBuilder(instrument, rows_per_chunk=4096)
    parts = [part for chunk in chunks for part in builder.feed(chunk)]
    return {name: np.concatenate([p[name] for p in parts]) for name in SILVER_COLS}


@pytest.fixture(scope="module")
def es_grid() -> dict[str, np.ndarray]:
    events = read_all_mbo(
        ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    )
    return _grid(_es(cell_width_ms=60_000, grid_half_width_ticks=12), events)


def test_grid_when_emitted_then_its_columns_are_the_wire_schema(
    es_grid: dict[str, np.ndarray],
) -> None:
    assert tuple(es_grid) == SILVER_COLS
    assert len(es_grid["k"]) % 25 == 0
    assert es_grid["k"][:25].tolist() == list(range(-12, 13))


def test_grid_when_bins_follow_each_other_then_depth_is_conserved(
    es_grid: dict[str, np.ndarray],
) -> None:
    rows = 25
    price = es_grid["price"].reshape(-1, rows)
    end = es_grid["depth_qty_end"].reshape(-1, rows)
    moved = (es_grid["add_qty"] - es_grid["pull_qty"] - es_grid["fill_qty"]).reshape(-1, rows)
    checked = 0
    for b in range(1, len(price)):
        before = dict(zip(price[b - 1].tolist(), end[b - 1].tolist(), strict=True))
        for p, e, m in zip(price[b].tolist(), end[b].tolist(), moved[b].tolist(), strict=True):
            if p in before and p != 0:
                assert e == before[p] + m, (b, p)
                checked += 1
    assert checked > 20_000
    assert (es_grid["fill_qty"] > 0).any()
    assert (es_grid["pull_qty"] > 0).any()


def test_grid_when_rest_computed_then_within_zero_and_end(es_grid: dict[str, np.ndarray]) -> None:
    rest, end, add = es_grid["depth_qty_rest"], es_grid["depth_qty_end"], es_grid["add_qty"]
    assert (rest >= 0).all()
    assert (rest <= end).all()
    np.testing.assert_array_equal(rest, np.clip(end - add, 0, end))


def test_grid_when_forces_computed_then_they_follow_their_definitions(
    es_grid: dict[str, np.ndarray],
) -> None:
    g = es_grid
    start = g["depth_qty_end"] - g["add_qty"] + g["pull_qty"] + g["fill_qty"]
    valid = g["valid"] & (g["price"] != 0)
    np.testing.assert_allclose(g["pressure"][valid], (g["add_qty"] / (start + 1.0))[valid])
    np.testing.assert_allclose(
        g["vacuum"][valid], ((g["pull_qty"] + g["fill_qty"]) / (start + 1.0))[valid]
    )
    np.testing.assert_allclose(g["net"], g["pressure"] - g["vacuum"])


def test_grid_chain_when_one_price_followed_then_v_a_j_are_emas_of_changes() -> None:
    # one bid at a fixed price, added to bin after bin: net at that price is known
    n = 6
    events = mbo_events(
        ts_event=np.arange(n, dtype=np.int64) * 100_000_000 + 1,
        order_id=np.array([1, 2, 1, 2, 1, 2], dtype=np.uint64),
        price=np.array([100, 101, 100, 101, 100, 101]) * TICK,
        size=np.array([4, 4, 6, 4, 9, 4]),
        action=b"AAMMMM",
        side=b"BABABA",
        flags=np.full(n, F_LAST),
    )
    instrument = _es(cell_width_ms=100, grid_half_width_ticks=2)
    grid = _grid(instrument, events)
    at_bid = grid["price"] == 100 * TICK
    net, v, a, j = (grid[c][at_bid] for c in ("net", "v", "a", "j"))
    alpha = 0.2
    ev = ea = ej = prev_net = prev_v = prev_a = 0.0
    for step in range(len(net)):
        ev_new = (1 - alpha) * ev + alpha * (net[step] - prev_net)
        ea_new = (1 - alpha) * ea + alpha * (ev_new - prev_v)
        ej_new = (1 - alpha) * ej + alpha * (ea_new - prev_a)
        assert v[step] == pytest.approx(ev_new)
        assert a[step] == pytest.approx(ea_new)
        assert j[step] == pytest.approx(ej_new)
        ev, ea, ej, prev_net, prev_v, prev_a = ev_new, ea_new, ej_new, net[step], ev_new, ea_new


def test_grid_when_a_side_is_empty_then_bin_invalid_with_mid_zero() -> None:
    events = mbo_events(
        ts_event=np.array([1, 250_000_000], dtype=np.int64),
        order_id=np.array([1, 2], dtype=np.uint64),
        price=np.array([100, 101]) * TICK,
        size=np.array([1, 1]),
        action=b"AA",
        side=b"BA",
        flags=np.full(2, F_LAST),
    )
    grid = _grid(_es(cell_width_ms=100, grid_half_width_ticks=1), events)
    first_bin = grid["bin_end_ns"] == grid["bin_end_ns"][0]
    assert not grid["valid"][first_bin].any()  # only a bid rested then: no mid
    assert (grid["mid"][first_bin] == 0).all()


def test_grid_when_replayed_in_chunks_then_equal_to_one_replay() -> None:
    events = read_all_mbo(
        ROOT / "src" / "tradeloop" / "data" / "mbo" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    )
    instrument = _es(cell_width_ms=60_000, grid_half_width_ticks=6)
    whole = _grid(instrument, events)
    parts = _grid(instrument, *np.array_split(events, 9))
    for name in SILVER_COLS:
        np.testing.assert_array_equal(parts[name], whole[name], err_msg=name)
