"""The agent's states never look ahead: a session's 58 values are the same whether or not
later sessions exist (the whole path: curve features, the curve model, the state); the
first state is the first session with every window full; the plan's states for a run's
bars equal the training states of the same sessions."""

from __future__ import annotations

import polars as pl

from tradeloop.adapters.synthetic.provider import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import BarRequest
from tradeloop.models.config import CurveConfig
from tradeloop.models.curve_model import CurveModel
from tradeloop.models.rl.market_state import STATE_COLUMNS
from tradeloop.registry.registry import ModelRegistry
from tradeloop.testing.fakes import InMemoryModelRecords
from tradeloop.usecases.agent_data import histories, state_frame
from tradeloop.usecases.curve_training import train_and_register_curve
from tradeloop.usecases.pim_agent_plan import _with_run_bars

SMALL = CurveConfig(anchors=(1, 20, 100), folds=2, min_train_rows=400, n_estimators=15,
                    min_child_samples=50)  # fmt: skip
COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]
SPAN = (parse_ns("2017-01-01"), parse_ns("2023-01-01"))
BARS = pl.concat([
    SyntheticProvider(7).fetch_bars(BarRequest(s, *SPAN, 86_400)).select(COLUMNS)
    for s in ("AAPL", "SPY", "QQQ")
])  # fmt: skip


def _bars_of(cut: int | None = None):  # type: ignore[no-untyped-def]
    frame = BARS if cut is None else BARS.filter(pl.col("ts") <= cut)
    return lambda symbols: frame.filter(pl.col("symbol").is_in(symbols))


def _curve(tmp_path) -> CurveModel:  # type: ignore[no-untyped-def]
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    made = train_and_register_curve(registry, _bars_of(), ["AAPL"], SMALL, {},
                                    as_of_ns=parse_ns("2021-01-01"))  # fmt: skip
    files, manifest = registry.load(made.version_id)
    return CurveModel(files, manifest)


def test_states_when_later_sessions_are_added_then_earlier_states_do_not_change(tmp_path) -> None:  # type: ignore[no-untyped-def]
    curve = _curve(tmp_path)
    cut = parse_ns("2021-06-30")
    full = state_frame(_bars_of(), ["AAPL"], curve, SMALL, {})
    early = state_frame(_bars_of(cut), ["AAPL"], curve, SMALL, {})
    assert early["ts"].max() <= cut
    assert early.equals(full.filter(pl.col("ts") <= cut))
    first = full["ts"].min()
    stored = BARS.filter(pl.col("symbol") == "AAPL")["ts"]
    assert int((stored < first).sum()) == 252  # the longest window (252 sessions) fills first
    assert full.select(STATE_COLUMNS).to_numpy().std(axis=0).max() > 0
    [history] = histories(full, parse_ns("2022-01-01"))
    assert history.states.shape == (int((full["ts"] >= parse_ns("2022-01-01")).sum()), 58)


def test_plan_states_when_a_run_brings_its_own_bars_then_equal_to_training(tmp_path) -> None:  # type: ignore[no-untyped-def]
    curve = _curve(tmp_path)
    since = parse_ns("2022-06-01")
    run = BARS.filter((pl.col("symbol") == "AAPL") & (pl.col("ts") >= since))
    stored = BARS.filter((pl.col("symbol") != "AAPL") | (pl.col("ts") < since))
    merged = _with_run_bars(lambda symbols: stored.filter(pl.col("symbol").is_in(symbols)), run)
    live = state_frame(merged, ["AAPL"], curve, SMALL, {})
    offline = state_frame(_bars_of(), ["AAPL"], curve, SMALL, {})
    assert live.equals(offline)


def test_states_when_the_market_series_is_stale_then_those_sessions_get_none(tmp_path) -> None:  # type: ignore[no-untyped-def]
    curve = _curve(tmp_path)
    stale_from = parse_ns("2022-06-01")
    lagging = BARS.filter((pl.col("symbol") == "AAPL") | (pl.col("ts") < stale_from))
    states = state_frame(lambda symbols: lagging.filter(pl.col("symbol").is_in(symbols)),
                         ["AAPL"], curve, SMALL, {})  # fmt: skip
    last = states["ts"].max()
    assert stale_from <= last <= stale_from + 5 * 86_400 * 10**9  # up to the tolerance only
