"""The L2 book and trade-flow features the scalper's signal engine and executor read."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeloop.features.tick_book import (
    CANDIDATE_FEATURES,
    L2Book,
    TradeFlow,
    book_from_payload,
    candidate_features,
)

BOOK = L2Book(0, ((100.0, 3.0), (99.9, 1.0), (99.8, 4.0)), ((100.2, 1.0), (100.3, 2.0)))


def test_book_when_measured_then_matches_hand_computed_values() -> None:
    assert BOOK.mid == pytest.approx(100.1)
    assert BOOK.spread_bps == pytest.approx(0.2 / 100.1 * 1e4)
    assert BOOK.depth("bid", 2) == 4.0
    assert BOOK.depth("ask", 5) == 3.0  # fewer levels than asked: what there is
    assert BOOK.imbalance(2) == pytest.approx((4 - 3) / 7)
    # touch weighted by the opposite size: 3 bid vs 1 ask leans to the ask
    assert BOOK.microprice() == pytest.approx((100.0 * 1 + 100.2 * 3) / 4)


def test_book_when_crossed_or_one_sided_then_refused() -> None:
    with pytest.raises(ValueError, match="crossed"):
        L2Book(0, ((100.0, 1.0),), ((100.0, 1.0),))
    with pytest.raises(ValueError, match="at least one"):
        L2Book(0, (), ((100.0, 1.0),))


def test_book_from_payload_when_strings_then_parsed() -> None:
    book = book_from_payload({"ts": "5", "bids": [["99.5", "2"]], "asks": [["99.6", "1"]]})
    assert book.ts == 5
    assert book.bids == ((99.5, 2.0),)


def test_trade_flow_when_window_passes_then_old_trades_leave() -> None:
    flow = TradeFlow(window_ns=1_000)
    flow.add(0, 2.0, buy=True)
    flow.add(500, 1.0, buy=False)
    assert flow.imbalance() == pytest.approx(1 / 3)
    flow.expire(1_000)  # the first trade is exactly one window old
    assert flow.imbalance() == -1.0
    flow.expire(1_600)
    assert flow.imbalance() == 0.0


@given(st.lists(st.tuples(st.floats(0.001, 100), st.booleans()), min_size=1, max_size=50))
def test_trade_flow_when_any_trades_then_imbalance_is_exact_and_bounded(
    trades: list[tuple[float, bool]],
) -> None:
    flow = TradeFlow(window_ns=10**12)
    for i, (size, buy) in enumerate(trades):
        flow.add(i, size, buy)
    buys = math.fsum(s for s, b in trades if b)
    total = math.fsum(s for s, _ in trades)
    assert flow.imbalance() == pytest.approx((2 * buys - total) / total, abs=1e-9)
    assert -1.0 <= flow.imbalance() <= 1.0


def test_candidate_features_when_computed_then_named_in_model_order() -> None:
    features = candidate_features(BOOK, 0.25, previous_mid=100.0, levels=2)
    assert tuple(features) == CANDIDATE_FEATURES
    assert features["return_bps"] == pytest.approx(10.0)
    assert features["flow_imbalance"] == 0.25
    flat = candidate_features(BOOK, 0.0, previous_mid=None, levels=2)
    assert flat["return_bps"] == 0.0
