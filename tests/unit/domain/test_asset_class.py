"""Statistics are annualised by the asset class's own trading calendar."""

from __future__ import annotations

import pytest

from tradeloop.domain.asset_class import periods_per_year


@pytest.mark.parametrize(
    ("interval", "symbols", "expected"),
    [
        (86_400, ["SPY"], 252.0),
        (3_600, ["SPY"], 252 * 6.5),  # a 6.5 h session
        (300, ["AAPL"], 252 * 78),
        (86_400, ["EURUSD=X"], 260.0),  # 24/5: every weekday
        (3_600, ["EURUSD=X"], 260 * 24),
        (86_400, ["BTC-USD"], 365.0),  # 24/7
        (60, ["BTC-USD"], 365 * 1_440),
        (3_600, ["CL=F"], 252 * 23),
        (3_600, ["SPY", "BTC-USD"], 365 * 24),  # a mix steps on the union of their bars
        (7 * 86_400, ["SPY"], 36.0),  # weekly bars
    ],
)
def test_periods_per_year_when_asset_class_then_its_calendar(
    interval: int, symbols: list[str], expected: float
) -> None:
    assert periods_per_year(interval, symbols) == pytest.approx(expected)
