"""Point in time: nothing computed for a row depends on data after it (or after as_of)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.features.technical import TECHNICAL_SCHEMA, compute_technical
from tradeloop.labels.forward_returns import forward_return_labels
from tradeloop.testing import stub_bars

BARS = stub_bars("LA", 400, seed=11)


@settings(max_examples=20, deadline=None)
@given(cut=st.integers(210, 399))
def test_features_when_future_bars_removed_then_past_rows_unchanged(cut: int) -> None:
    full = compute_technical(BARS).head(cut)
    truncated = compute_technical(BARS.head(cut))
    assert truncated.select(TECHNICAL_SCHEMA.names).equals(full.select(TECHNICAL_SCHEMA.names))


@settings(max_examples=20, deadline=None)
@given(cut=st.integers(50, 399))
def test_labels_when_as_of_given_then_only_matured_labels_known(cut: int) -> None:
    as_of = int(BARS["ts"][cut])
    labels = forward_return_labels(BARS, (1, 5), as_of_ns=as_of)
    for h in (1, 5):
        known = labels.filter(pl.col(f"fwd_ret_{h}").is_not_null())
        assert (known[f"ts_matured_{h}"] <= as_of).all()
        # Same values as computing on the data available at as_of only.
        past_only = forward_return_labels(BARS.head(cut + 1), (h,))
        joined = known.join(past_only, on=["symbol", "ts"], suffix="_past")
        assert joined.height == known.height
        assert (joined[f"fwd_ret_{h}"] == joined[f"fwd_ret_{h}_past"]).all()


def test_labels_when_horizon_one_then_next_open_to_open_after() -> None:
    labels = forward_return_labels(BARS, (1,))
    opens = BARS["open"].to_numpy()
    assert labels["fwd_ret_1"][0] == pl.Series([opens[2] / opens[1]]).log()[0]
