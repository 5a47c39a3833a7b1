"""Pivot levels, touch events and their labels: point in time, stable ids, true numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import BarRequest
from tradeloop.features.config import PivotConfig
from tradeloop.features.pivots import session_levels, with_sessions
from tradeloop.features.touch_events import EVENT_SCHEMA, bar_features, detect_touch_events
from tradeloop.labels.config import EventLabelConfig
from tradeloop.labels.event_outcomes import label_events

CONFIG = PivotConfig()
BARS = SyntheticProvider(11).fetch_bars(
    BarRequest("SPY", parse_ns("2024-03-04"), parse_ns("2024-03-16"), 300)
)
EVENTS = detect_touch_events(BARS, CONFIG)


def _alter_after(bars: pl.DataFrame, ts_cut: int, factor: float) -> pl.DataFrame:
    later = pl.col("ts") >= ts_cut
    return bars.with_columns(
        [
            pl.when(later).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c)
            for c in ("open", "high", "low", "close")
        ]
        + [pl.when(later).then(pl.col("volume") * 3).otherwise(pl.col("volume")).alias("volume")]
    )


def test_levels_when_computed_then_classic_and_camarilla_formulas_of_prior_session() -> None:
    sessions = with_sessions(BARS, CONFIG)
    levels = session_levels(sessions, CONFIG).sort("session")
    day1 = sessions.filter(pl.col("session") == levels["session"][0])
    h, low, c = day1["high"].max(), day1["low"].min(), day1["close"][-1]
    second = levels.row(1, named=True)
    p = (h + low + c) / 3
    assert second["P"] == pytest.approx(p)
    assert second["R1"] == pytest.approx(2 * p - low)
    assert second["S2"] == pytest.approx(p - (h - low))
    assert second["H4"] == pytest.approx(c + (h - low) * 1.1 / 2)
    assert (second["PDH"], second["PDL"], second["PDC"]) == (h, low, c)
    assert levels.row(0, named=True)["P"] is None  # no prior session, no levels


@settings(max_examples=25, deadline=None)
@given(index=st.integers(0, EVENTS.height - 1), factor=st.floats(0.5, 2.0))
def test_features_when_any_later_bar_altered_then_event_unchanged(
    index: int, factor: float
) -> None:
    event = EVENTS.row(index, named=True)
    altered = detect_touch_events(_alter_after(BARS, event["ts_event"], factor), CONFIG)
    same = altered.filter(pl.col("event_id") == event["event_id"])
    assert same.height == 1
    for name in EVENT_SCHEMA.names:
        assert same[name][0] == pytest.approx(event[name], nan_ok=True), name


@settings(max_examples=25, deadline=None)
@given(index=st.integers(0, EVENTS.height - 1), factor=st.floats(0.5, 2.0))
def test_labels_when_bars_after_horizon_altered_then_unchanged(index: int, factor: float) -> None:
    labels_config = EventLabelConfig(horizons_bars=(5, 15))
    before = label_events(EVENTS, BARS, labels_config)
    event_id = EVENTS["event_id"][index]
    original = before.filter(pl.col("event_id") == event_id)
    if original.is_empty():
        return
    after_horizon = int(original["ts_matured"].max())  # type: ignore[arg-type]
    changed = label_events(EVENTS, _alter_after(BARS, after_horizon, factor), labels_config)
    assert changed.filter(pl.col("event_id") == event_id).equals(original)


def test_labels_when_as_of_given_then_only_matured_horizons() -> None:
    as_of = int(EVENTS["ts_event"][EVENTS.height // 2])
    labels = label_events(EVENTS, BARS, EventLabelConfig(), as_of_ns=as_of)
    assert (labels["ts_matured"] <= as_of).all()
    assert labels.height < label_events(EVENTS, BARS, EventLabelConfig()).height


def test_event_ids_when_recomputed_then_identical_and_unique() -> None:
    again = detect_touch_events(BARS.sample(fraction=1.0, shuffle=True, seed=1), CONFIG)
    assert again["event_id"].to_list() == EVENTS["event_id"].to_list()
    assert EVENTS["event_id"].n_unique() == EVENTS.height
    key = ["symbol", "ts_event", "level_type", "level_price", "bar_interval_sec"]
    assert EVENTS.select(key).unique().height == EVENTS.height


def test_touches_when_price_stays_in_band_then_one_event_per_visit() -> None:
    ts = parse_ns("2024-03-05T14:30:00")
    rows = []
    for day, base in ((0, 100.0), (1, 100.0)):
        for minute in range(60):
            price = base + (0.0 if 20 <= minute < 30 else 1.0)  # a 10-bar visit to 100
            t = ts + day * 86_400 * 10**9 + minute * 60 * 10**9
            rows.append(
                ("T", t, price, price + 0.01, price - 0.01, price, 1000.0, price, "test", 60)
            )
    bars = pl.DataFrame(rows, schema=BARS.schema, orient="row")
    events = detect_touch_events(bars, PivotConfig(touch_tolerance_bps=5))
    pdl = events.filter(pl.col("level_type") == "PDL")  # prior low 99.99 ~ the visit at 100
    assert pdl.height == 1
    assert pdl["touches_today"][0] == 0


def test_atr_and_rsi_when_compared_with_pandas_reference_then_equal() -> None:
    frame = bar_features(with_sessions(BARS, CONFIG))
    reference = frame.to_pandas()
    prev_close = reference["close"].shift(1)
    true_range = pd.concat(
        [
            reference["high"] - reference["low"],
            (reference["high"] - prev_close).abs(),
            (reference["low"] - prev_close).abs(),
        ],
        axis=1,
    ).max(axis=1)
    atr = true_range.ewm(alpha=1 / 14, adjust=False).mean() / reference["close"] * 1e4
    change = reference["close"].diff()
    gain = change.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    loss = (-change).clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    rsi = 100 - 100 / (1 + gain / loss)
    np.testing.assert_allclose(frame["atr_bps"].to_numpy(), atr.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(frame["rsi_14"].to_numpy()[1:], rsi.to_numpy()[1:], rtol=1e-10)
