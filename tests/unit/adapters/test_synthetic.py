from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.calendars import expected_sessions
from tradeloop.data.ports import BarRequest
from tradeloop.data.quality import score_quality
from tradeloop.data.validation import validate_bars
from tradeloop.domain.asset_class import classify_symbol

SYMBOLS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=5)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), symbol=SYMBOLS)
def test_daily_when_any_seed_and_symbol_then_valid_ohlc_and_quality(seed: int, symbol: str) -> None:
    bars = SyntheticProvider(seed).fetch_bars(
        BarRequest(symbol, parse_ns("2015-01-01"), parse_ns("2020-01-01"), 86_400)
    )
    validate_bars(bars, "synthetic")
    sessions = expected_sessions(
        classify_symbol(symbol), parse_ns("2015-01-01"), parse_ns("2019-12-31")
    )
    assert bars["ts"].to_list() == sessions.tolist()
    assert score_quality(bars, expected=sessions).score == 1.0


@pytest.mark.parametrize(
    ("symbol", "sessions_in_2024"), [("SPY", 252), ("EURUSD=X", 262), ("BTC-USD", 366)]
)
def test_daily_when_asset_class_differs_then_its_market_calendar(
    symbol: str, sessions_in_2024: int
) -> None:
    bars = SyntheticProvider(1).fetch_bars(
        BarRequest(symbol, parse_ns("2024-01-01"), parse_ns("2025-01-01"), 86_400)
    )
    assert bars.height == sessions_in_2024


def test_daily_when_same_seed_and_symbol_then_identical_and_subrange_consistent() -> None:
    full = SyntheticProvider(3).fetch_bars(
        BarRequest("SPY", parse_ns("2010-01-01"), parse_ns("2020-01-01"), 86_400)
    )
    part = SyntheticProvider(3).fetch_bars(
        BarRequest("SPY", parse_ns("2015-06-01"), parse_ns("2015-07-01"), 86_400)
    )
    window = full.filter(pl.col("ts").is_between(parse_ns("2015-06-01"), parse_ns("2015-06-30")))
    assert part.equals(window)


def test_daily_when_seed_or_symbol_differs_then_series_differ() -> None:
    request = BarRequest("SPY", parse_ns("2019-01-01"), parse_ns("2020-01-01"), 86_400)
    base = SyntheticProvider(1).fetch_bars(request)["close"]
    assert not base.equals(SyntheticProvider(2).fetch_bars(request)["close"])
    other = BarRequest("QQQ", request.start_ns, request.end_ns, 86_400)
    assert not base.equals(SyntheticProvider(1).fetch_bars(other)["close"])


def test_intraday_when_one_day_then_full_new_york_session_with_u_shaped_volume() -> None:
    bars = SyntheticProvider(7).fetch_bars(
        BarRequest("SPY", parse_ns("2024-07-01"), parse_ns("2024-07-02"), 60)
    )
    validate_bars(bars, "synthetic intraday")
    assert bars.height == 390
    assert bars["ts"][0] == parse_ns("2024-07-01T13:30:00")  # 09:30 EDT
    volume = bars["volume"].to_numpy()
    assert volume[:30].mean() > volume[180:210].mean() < volume[-30:].mean()


def test_intraday_when_fetched_alone_then_same_as_within_longer_range() -> None:
    week = SyntheticProvider(7).fetch_bars(
        BarRequest("SPY", parse_ns("2024-12-09"), parse_ns("2024-12-14"), 300)
    )
    day = SyntheticProvider(7).fetch_bars(
        BarRequest("SPY", parse_ns("2024-12-11"), parse_ns("2024-12-12"), 300)
    )
    assert day.height == 78
    assert day.equals(week.filter(pl.col("ts").is_between(day["ts"][0], day["ts"][-1])))
