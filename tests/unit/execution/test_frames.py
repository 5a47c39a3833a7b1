"""``sorted_by``: the frame in (first, second) order, copied only when it was not."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from tradeloop.execution.frames import sorted_by


def test_sorted_by_when_already_in_order_then_the_same_frame_not_a_copy() -> None:
    frame = pl.DataFrame({"symbol": ["A", "A", "B"], "ts": [1, 2, 1]})
    assert sorted_by(frame, "symbol", "ts") is frame


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 5)), min_size=0, max_size=30
    )
)
def test_sorted_by_when_any_rows_then_the_order_of_a_full_sort(rows: list[tuple[str, int]]) -> None:
    frame = pl.DataFrame(
        {"symbol": [r[0] for r in rows], "ts": [r[1] for r in rows]},
        schema={"symbol": pl.String, "ts": pl.Int64},
    )
    ordered = sorted_by(frame, "ts", "symbol")
    assert ordered.rows() == sorted(frame.rows(), key=lambda row: (row[1], row[0]))
