"""Bars whose timestamps contradict their declared interval are refused, not stored."""

from __future__ import annotations

import polars as pl
import pytest

from tradeloop.core.errors import DataError
from tradeloop.core.time import NS_PER_DAY
from tradeloop.data.validation import validate_bars
from tradeloop.testing import stub_bars

HOUR_NS = 3600 * 10**9


def test_validate_when_hourly_bars_declared_daily_then_refused_naming_the_interval_found() -> None:
    hourly = stub_bars("EURX", 200, bar_interval_sec=3600).with_columns(
        pl.lit(86_400).alias("bar_interval_sec")
    )
    with pytest.raises(DataError) as refused:
        validate_bars(hourly, "files/EURX.csv")
    message = str(refused.value)
    assert message.startswith("files/EURX.csv: EURX bars only 3600 s apart")
    assert "bar_interval_sec=86400 was declared" in message
    assert "look like 3600 s bars" in message


def test_validate_when_daily_bars_declared_hourly_then_refused() -> None:
    daily = stub_bars("SPY", 60).with_columns(pl.lit(3600).alias("bar_interval_sec"))
    with pytest.raises(DataError, match="look like daily bars"):
        validate_bars(daily, "files/SPY.csv")


def test_validate_when_daily_bars_shift_with_daylight_saving_or_skip_weekends_then_kept() -> None:
    daily = stub_bars("SPY", 60)
    # Stamped at the New York open in UTC: 13:30 in summer, 14:30 in winter (23 h apart
    # once a year), with weekend gaps of three days.
    shifted = daily.with_columns(
        (
            pl.col("ts")
            + pl.when(pl.int_range(pl.len()) < 30).then(14 * HOUR_NS).otherwise(13 * HOUR_NS)
        ).alias("ts")
    ).filter(pl.int_range(pl.len()) % 7 != 5)
    assert validate_bars(shifted, "files/SPY.csv").height == shifted.height


def test_validate_when_intraday_bars_have_overnight_gaps_then_kept() -> None:
    minutes = stub_bars("SPY", 780, bar_interval_sec=60)
    sessions = minutes.with_columns(
        (pl.col("ts") + (pl.int_range(pl.len()) // 390) * (NS_PER_DAY - 390 * 60 * 10**9)).alias(
            "ts"
        )
    )
    assert validate_bars(sessions, "collector").height == 780
