"""The quality score: the runbook's formula, one symbol at a time or many at once."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.core.time import NS_PER_DAY
from tradeloop.data.calendars import expected_sessions
from tradeloop.data.quality import score_quality, score_quality_many
from tradeloop.domain.asset_class import AssetClass
from tradeloop.testing import stub_bars
from tradeloop.testing.stubs import START_NS

CALENDAR = expected_sessions(AssetClass.CRYPTO, START_NS, START_NS + 199 * NS_PER_DAY)


def _damaged(
    symbol: str, drop: list[int], spike_at: int | None, zero_at: int | None
) -> pl.DataFrame:
    bars = stub_bars(symbol, 200, seed=len(symbol))
    index = pl.int_range(pl.len())
    if spike_at is not None:
        bars = bars.with_columns(
            [
                pl.when(index == spike_at).then(pl.col(c) * 3).otherwise(pl.col(c)).alias(c)
                for c in ("open", "high", "low", "close")
            ]
        )
    if zero_at is not None:
        bars = bars.with_columns(
            pl.when(index == zero_at).then(0.0).otherwise(pl.col("low")).alias("low")
        )
    return bars.filter(~index.is_in(drop))


@settings(max_examples=40, deadline=None)
@given(
    damage=st.lists(
        st.tuples(
            st.lists(st.integers(0, 199), max_size=80),
            st.one_of(st.none(), st.integers(1, 199)),
            st.one_of(st.none(), st.integers(0, 199)),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_many_when_any_damage_then_same_reports_as_one_by_one(damage) -> None:  # type: ignore[no-untyped-def]
    frames = {f"S{n}": _damaged(f"S{n}", *spec) for n, spec in enumerate(damage)}
    expected = dict.fromkeys(frames, CALENDAR)
    expected["NONE"] = CALENDAR
    together = score_quality_many(pl.concat(list(frames.values())), expected)
    for symbol, frame in frames.items():
        alone = score_quality(frame, expected=CALENDAR)
        assert together[symbol].rows == alone.rows
        assert together[symbol].score == pytest.approx(alone.score, abs=1e-12)
        assert together[symbol].extreme_spike_flag == alone.extreme_spike_flag
        assert together[symbol].zero_negative_flag == alone.zero_negative_flag
    assert together["NONE"].rows == 0
    assert not together["NONE"].accepted


def test_score_when_runbook_components_then_formula_applies() -> None:
    bars = _damaged("X", list(range(0, 200, 10)), spike_at=55, zero_at=None)
    report = score_quality(bars, expected=CALENDAR)
    assert report.missing_dates_pct == pytest.approx(0.1)
    assert report.extreme_spike_flag == 1
    assert report.score == pytest.approx(1 - (0.1 * 0.3 + 0.3))
    assert report.accepted
    assert np.isclose(score_quality(_damaged("Y", [], None, 3), expected=CALENDAR).score, 0.8)
