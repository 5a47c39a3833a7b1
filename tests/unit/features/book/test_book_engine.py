"""The order-book engine against an independent reference: a plain-Python book (dicts of
orders and levels) on generated event streams (hypothesis), Nasdaq MBP-10 records of the
same moments, and invariants on the real ES session (sizes never negative, prefix + rest
equals the whole)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.databento.mbo_file import read_all_mbo
from tradeloop.features.book.engine import OrderBook
from tradeloop.features.book.events import F_LAST, UNDEFINED_PRICE, mbo_events

DATA = Path(__file__).resolve().parents[4] / "src" / "tradeloop" / "data" / "mbo"
TICK = 250_000_000  # 0.25


class ReferenceBook:
    """The semantics the engine documents, written the obvious way."""

    def __init__(self) -> None:
        self.orders: dict[int, tuple[int, int, int]] = {}  # id -> (side, price, size)

    def apply(self, action: str, side: str, order_id: int, price: int, size: int) -> None:
        if action == "R":
            self.orders.clear()
        elif action == "C":
            if order_id in self.orders:
                s, p, q = self.orders[order_id]
                if size >= q:
                    del self.orders[order_id]
                else:
                    self.orders[order_id] = (s, p, q - size)
        elif action in "AM":
            known = self.orders.get(order_id)
            s = known[0] if known else {"B": 0, "A": 1}[side]
            if size <= 0:
                self.orders.pop(order_id, None)
            else:
                self.orders[order_id] = (s, price, size)

    def top(self, depth: int) -> np.ndarray:
        out = np.zeros((2, depth, 3), dtype=np.int64)
        out[:, :, 0] = UNDEFINED_PRICE
        for side in (0, 1):
            levels: dict[int, list[int]] = defaultdict(lambda: [0, 0])
            for s, p, q in self.orders.values():
                if s == side:
                    levels[p][0] += q
                    levels[p][1] += 1
            prices = sorted(levels, reverse=side == 0)[:depth]
            for i, p in enumerate(prices):
                out[side, i] = (p, *levels[p])
        return out


event = st.tuples(
    st.sampled_from("AAAACCMMR" + "T"),
    st.sampled_from("AB"),
    st.integers(0, 30),  # order ids: small, so that cancels and modifies hit
    st.integers(-40, 40),  # ticks around a price
    st.integers(0, 9),
    st.booleans(),  # F_LAST
)


def _stream(rows: list[tuple[str, str, int, int, int, bool]]) -> np.ndarray:
    n = len(rows)
    return mbo_events(
        ts_event=np.arange(n, dtype=np.int64),
        order_id=np.array([r[2] for r in rows], dtype=np.uint64),
        price=np.array([(19_000 + r[3]) * TICK for r in rows], dtype=np.int64),
        size=np.array([r[4] for r in rows], dtype=np.int64),
        action="".join(r[0] for r in rows).encode(),
        side="".join(r[1] for r in rows).encode(),
        flags=np.array([F_LAST if r[5] or i == n - 1 else 0 for i, r in enumerate(rows)]),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(event, min_size=1, max_size=120))
def test_book_when_any_event_stream_then_every_boundary_equals_the_reference(
    rows: list[tuple[str, str, int, int, int, bool]],
) -> None:
    events = _stream(rows)
    # tiny tables and window: growth happens mid-stream and must lose nothing
    book = OrderBook(TICK, capacity=4, window=4)
    trail = book.apply(events, depth=5)
    reference = ReferenceBook()
    row = 0
    for i, (action, side, order_id, ticks, size, _) in enumerate(rows):
        reference.apply(action, side, order_id, (19_000 + ticks) * TICK, size)
        if events["flags"][i] & F_LAST:
            np.testing.assert_array_equal(trail.depth[row], reference.top(5))
            assert (trail.depth[row, :, :, 1] >= 0).all()
            row += 1
    assert book.orders == len(reference.orders)


@settings(max_examples=100, deadline=None)
@given(st.lists(event, min_size=2, max_size=80), st.data())
def test_book_when_replayed_in_two_parts_then_equal_to_one_replay(
    rows: list[tuple[str, str, int, int, int, bool]], data: st.DataObject
) -> None:
    events = _stream(rows)
    cut = data.draw(st.integers(1, len(rows) - 1))
    whole = OrderBook(TICK, capacity=4, window=4)
    one = whole.apply(events, depth=5)
    parts = OrderBook(TICK, capacity=4, window=4)
    first, second = parts.apply(events[:cut], depth=5), parts.apply(events[cut:], depth=5)
    np.testing.assert_array_equal(np.concatenate([first.depth, second.depth]), one.depth)
    np.testing.assert_array_equal(parts.top(5), whole.top(5))


def test_book_when_cancel_or_modify_of_unknown_order_then_counted_not_crashed() -> None:
    events = mbo_events(
        ts_event=np.arange(3),
        order_id=np.array([7, 8, 9], dtype=np.uint64),
        price=np.array([100, 100, 101]) * TICK,
        size=np.array([1, 2, 3]),
        action=b"CMA",
        side=b"BBA",
        flags=np.full(3, F_LAST),
    )
    book = OrderBook(TICK)
    trail = book.apply(events)
    assert book.anomalies["cancel_unknown_order"] == 1
    assert book.anomalies["modify_unknown_order"] == 1  # and added, as the venue's book does
    assert trail.bbo[-1].tolist() == [100 * TICK, 2, 1, 101 * TICK, 3, 1]


def test_book_when_cleared_then_empty_both_sides() -> None:
    events = mbo_events(
        ts_event=np.arange(3),
        order_id=np.array([1, 2, 0], dtype=np.uint64),
        price=np.array([100 * TICK, 101 * TICK, UNDEFINED_PRICE]),
        size=np.array([1, 1, 0]),
        action=b"AAR",
        side=b"BAN",
        flags=np.full(3, F_LAST),
    )
    book = OrderBook(TICK)
    trail = book.apply(events)
    assert trail.bbo[1, 0] == 100 * TICK
    assert trail.bbo[2].tolist() == [UNDEFINED_PRICE, 0, 0, UNDEFINED_PRICE, 0, 0]
    assert book.orders == 0


def test_book_when_nasdaq_mbo_replayed_then_equals_the_mbp10_of_the_same_moments() -> None:
    import databento as db

    events = read_all_mbo(DATA / "XNAS.ITCH.mbo.dbn.zst")
    with (DATA / "XNAS.ITCH.mbp-10.dbn.zst").open("rb") as handle:
        mbp = db.DBNStore.from_bytes(handle).to_ndarray()
    trail = OrderBook(10_000_000).apply(events, depth=10)  # NVDA, 0.01
    assert len(trail.depth) == len(mbp) == 4
    for row, record in enumerate(mbp):
        for side, name in ((0, "bid"), (1, "ask")):
            expected = [
                (
                    int(record[f"{name}_px_{i:02d}"]),
                    int(record[f"{name}_sz_{i:02d}"]),
                    int(record[f"{name}_ct_{i:02d}"]),
                )
                for i in range(10)
            ]
            got = [tuple(int(v) for v in level) for level in trail.depth[row, side]]
            assert got == expected, (row, name)


@pytest.fixture(scope="module")
def es_session() -> np.ndarray:
    return read_all_mbo(DATA / "esh4-glbx-mdp3-20231225.mbo.dbn.zst")


def test_es_session_when_replayed_then_no_anomaly_and_sizes_never_negative(
    es_session: np.ndarray,
) -> None:
    book = OrderBook(TICK)
    trail = book.apply(es_session, depth=10)
    assert len(trail.depth) == int(np.count_nonzero(es_session["flags"] & F_LAST)) == 47_022
    assert (trail.depth[:, :, :, 1] >= 0).all()
    assert (trail.depth[:, :, :, 2] >= 0).all()
    assert set(book.anomalies.values()) == {0}
    assert book.orders == 11_217
    # levels are ordered away from the touch on each side
    bids = trail.depth[:, 0, :, 0]
    valid = bids != UNDEFINED_PRICE
    assert (np.diff(np.where(valid, bids, -1), axis=1)[valid[:, 1:]] < 0).all()


def test_es_session_when_replayed_in_chunks_then_equal_to_one_replay(
    es_session: np.ndarray,
) -> None:
    whole = OrderBook(TICK).apply(es_session, depth=10)
    chunked = OrderBook(TICK, capacity=64, window=16)
    parts = [chunked.apply(piece, depth=10) for piece in np.array_split(es_session, 7)]
    np.testing.assert_array_equal(np.concatenate([p.depth for p in parts]), whole.depth)
    np.testing.assert_array_equal(np.concatenate([p.bbo for p in parts]), whole.bbo)


def test_book_when_tick_size_is_wrong_then_clear_error_naming_the_fix() -> None:
    from tradeloop.core.errors import DataError

    events = mbo_events(
        ts_event=np.arange(2),
        order_id=np.array([1, 2], dtype=np.uint64),
        price=np.array([1, 10**17]),  # a tick of 1e-9: these two are 1e17 ticks apart
        size=np.array([1, 1]),
        action=b"AA",
        side=b"BA",
        flags=np.full(2, F_LAST),
    )
    with pytest.raises(DataError, match="tick size is likely wrong"):
        OrderBook(1).apply(events)
