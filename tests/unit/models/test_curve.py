"""The prediction curve: features never look ahead (a row is the same whatever follows
it); optional feature files are zeros with a 0 flag when absent and their values as of
the session when present; on a market whose next return is predictable from the last one
the curve shows positive out-of-sample skill at the short horizon, and on a random walk
it does not claim any; training is reproducible and blind to bars after ``as_of``; the
registered version serves 100 horizons with their uncertainty and summary."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tradeloop.adapters.synthetic.provider import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.ports import BarRequest
from tradeloop.features.curve_features import (
    CURVE_SCHEMA,
    OPTIONS_FLOW,
    SENTIMENT,
    compute_curve_features,
)
from tradeloop.models.config import CurveConfig
from tradeloop.models.curve_model import CURVE_MODEL_NAME, CurveModel, summarize
from tradeloop.registry.registry import ModelRegistry
from tradeloop.serving.curve_service import CurvePredictor
from tradeloop.testing.fakes import InMemoryModelRecords
from tradeloop.usecases.curve_training import latest_features, train_and_register_curve

START, END = parse_ns("2016-01-01"), parse_ns("2024-01-01")
SMALL = CurveConfig(
    anchors=(1, 5, 20, 100), folds=3, min_train_rows=800, n_estimators=40, num_leaves=4,
    min_child_samples=100,
)  # fmt: skip


def _synthetic(symbol: str) -> pl.DataFrame:
    return SyntheticProvider(7).fetch_bars(BarRequest(symbol, START, END, 86_400))


REFS = {"SPY": _synthetic("SPY"), "QQQ": _synthetic("QQQ")}


def _ar_market(symbol: str, phi: float, seed: int) -> pl.DataFrame:
    """Daily bars whose log return follows r_t = phi * r_{t-1} + noise, on SPY's sessions;
    each open is the previous close, so the next session's return is what the label sees."""
    ts = REFS["SPY"]["ts"].to_numpy()
    rng = np.random.default_rng(seed)
    r = np.zeros(ts.size)
    noise = rng.normal(0, 0.015, ts.size)
    for i in range(1, ts.size):
        r[i] = phi * r[i - 1] + noise[i]
    close = 100 * np.exp(np.cumsum(r))
    opened = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.005, ts.size)) * close
    return pl.DataFrame({
        "symbol": symbol, "ts": ts, "open": opened,
        "high": np.maximum(opened, close) + spread, "low": np.minimum(opened, close) - spread,
        "close": close, "volume": rng.integers(1_000_000, 2_000_000, ts.size).astype(float),
    })  # fmt: skip


def _bars_of(frames: dict[str, pl.DataFrame]):  # type: ignore[no-untyped-def]
    def bars_of(symbols: list[str]) -> pl.DataFrame:
        cols = ["symbol", "ts", "open", "high", "low", "close", "volume"]
        return pl.concat([frames[s].select(cols) for s in symbols if s in frames])

    return bars_of


def test_features_when_later_bars_are_added_then_earlier_rows_do_not_change() -> None:
    bars = pl.concat([_synthetic("AAPL"), _synthetic("MSFT")])
    cut = parse_ns("2021-06-01")
    early = compute_curve_features(bars.filter(pl.col("ts") <= cut),
                                   REFS["SPY"].filter(pl.col("ts") <= cut),
                                   REFS["QQQ"].filter(pl.col("ts") <= cut))  # fmt: skip
    full = compute_curve_features(bars, REFS["SPY"], REFS["QQQ"])
    same = full.filter(pl.col("ts") <= cut)
    assert early.columns == ["symbol", "ts", *CURVE_SCHEMA.names]
    assert len(CURVE_SCHEMA.names) == 79
    assert early.equals(same)
    assert early.drop_nulls().height > 2000


def test_optional_features_when_absent_then_zeros_and_flag_zero_else_as_of_session() -> None:
    bars = _synthetic("AAPL")
    absent = compute_curve_features(bars, REFS["SPY"], REFS["QQQ"])
    assert absent.select([*SENTIMENT, *OPTIONS_FLOW, "sentiment_present",
                          "options_flow_present"]).to_numpy().max() == 0  # fmt: skip
    day = parse_ns("2020-03-02")  # a Monday
    sentiment = pl.DataFrame({"symbol": ["AAPL"], "ts": [day], **{n: [0.5] for n in SENTIMENT}})
    present = compute_curve_features(bars, REFS["SPY"], REFS["QQQ"], {"sentiment": sentiment})
    before = present.filter(pl.col("ts") < day)
    after = present.filter(pl.col("ts") >= day)
    assert before["sentiment_present"].max() == 0
    assert before["sent_mean"].max() == 0
    assert after["sentiment_present"].min() == 1
    assert after["sent_mean"].min() == 0.5
    assert present["options_flow_present"].max() == 0


def test_curve_when_next_return_is_predictable_then_positive_skill_at_one_session() -> None:
    frames = {**REFS, "AR1": _ar_market("AR1", -0.5, 1), "AR2": _ar_market("AR2", -0.5, 2)}
    registry = ModelRegistry(_tmp(), InMemoryModelRecords())
    outcome = train_and_register_curve(registry, _bars_of(frames), ["AR1", "AR2"], SMALL,
                                       {}, as_of_ns=END)  # fmt: skip
    by_h = {s.horizon: s for s in outcome.trained.skill}
    assert by_h[1].skill_vs_zero > 0.1
    assert by_h[1].rank_ic > 0.3
    assert by_h[1].hit_rate > 0.6
    assert 0.4 < by_h[1].band_coverage < 0.9
    assert outcome.trained.parity_max_abs < 1e-5
    walk = {**REFS, "RW": _ar_market("RW", 0.0, 3)}
    random = train_and_register_curve(ModelRegistry(_tmp(), InMemoryModelRecords()),
                                      _bars_of(walk), ["RW"], SMALL, {}, as_of_ns=END)  # fmt: skip
    assert all(s.skill_vs_zero < 0.05 for s in random.trained.skill)


def test_curve_when_trained_twice_or_with_bars_after_as_of_then_same_version(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frames = {**REFS, "AAPL": _synthetic("AAPL")}
    cut = parse_ns("2022-01-03")
    blind = {k: v.filter(pl.col("ts") <= cut) for k, v in frames.items()}
    made = [
        train_and_register_curve(
            ModelRegistry(tmp_path / str(i), InMemoryModelRecords()),
            _bars_of(f),
            ["AAPL"],
            SMALL,
            {},
            as_of_ns=cut,
        )
        for i, f in enumerate((frames, blind))
    ]
    assert made[0].version_id == made[1].version_id
    assert made[0].manifest["files"] == made[1].manifest["files"]


def test_registered_curve_when_served_then_100_horizons_with_summary(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frames = {**REFS, "AAPL": _synthetic("AAPL"), "MSFT": _synthetic("MSFT")}
    registry = ModelRegistry(tmp_path, InMemoryModelRecords())
    outcome = train_and_register_curve(registry, _bars_of(frames), ["AAPL", "MSFT"], SMALL, {},
                                       as_of_ns=END)  # fmt: skip
    assert registry.resolve(CURVE_MODEL_NAME, "candidate") == outcome.version_id
    files, manifest = registry.load(outcome.version_id)
    assert len([f for f in files if f.endswith(".onnx")]) == 3 * len(SMALL.anchors)
    assert manifest["feature_schema_hash"] == CURVE_SCHEMA.schema_hash
    assert [s["horizon"] for s in manifest["skill"]] == list(SMALL.anchors)
    features_of = lambda symbol: latest_features(_bars_of(frames), symbol, SMALL, {})  # noqa: E731
    predictor = CurvePredictor(CurveModel(files, manifest), outcome.version_id, features_of)
    answer = predictor.predict("AAPL")
    assert answer["as_of_session"] == "2023-12-29"
    assert len(answer["predictions_continuous"]) == len(answer["uncertainty_continuous"]) == 100
    assert min(answer["uncertainty_continuous"]) > 0
    assert 1 <= answer["optimal_horizon"] <= 100
    assert (
        answer["optimal_return"] == answer["predictions_continuous"][answer["optimal_horizon"] - 1]
    )
    assert answer["direction"] in ("LONG", "SHORT", "HOLD")
    assert 0 < answer["risk_score"] < 1
    with pytest.raises(Exception, match="no stored daily bars for NOPE"):
        predictor.predict("NOPE")


@pytest.mark.parametrize(
    ("mean", "direction", "horizon"),
    [
        (np.linspace(0.001, 0.1, 100), "LONG", 100),
        (-np.linspace(0.001, 0.1, 100), "SHORT", 100),
        (np.full(100, 0.0001), "HOLD", 1),
    ],
)
def test_summary_when_curve_given_then_optimal_horizon_direction_and_risk(
    mean: np.ndarray, direction: str, horizon: int
) -> None:
    summary = summarize(mean, np.full(100, 0.02), hold_tstat=0.5)
    assert (summary["direction"], summary["optimal_horizon"]) == (direction, horizon)
    assert summary["risk_score"] == pytest.approx(0.02 / (0.02 + abs(mean[horizon - 1])))


def _tmp():  # type: ignore[no-untyped-def]
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="curve-"))
