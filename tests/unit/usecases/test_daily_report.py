"""The daily ML report on constructed data: every state transition, files, history."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select

from tradeloop.monitor.ml_health import ReportConfig
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.migrate import upgrade
from tradeloop.store.sql.report_queries import SqlReportQueries
from tradeloop.store.sql.tables import daily_ml_metrics, event_labels, pivot_events, prediction_log
from tradeloop.usecases.daily_report import (
    Classifier,
    ModelFacts,
    ReportContext,
    Staleness,
    build_daily_report,
    day_bounds,
    latest_state,
    write_daily_report,
)

DAY = date(2026, 11, 20)
START, END = day_bounds(DAY)
HOUR = 3_600_000_000_000
FEATURES = ("dist_bps", "atr_bps")
UP = {"scorer": True, "collector": True}


def _db(tmp_path: Path) -> Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    return engine


def _model(trained_hours_ago: float = 24.0, precision: float = 0.7) -> ModelFacts:
    return ModelFacts(
        model_version_id="v1",
        trained_end_ns=int(END - trained_hours_ago * HOUR),
        data_start_ns=END - 400 * 24 * HOUR,
        classifiers=(
            Classifier("held", 5, tau_entry=0.6, model_precision=precision),
            Classifier("held", 15, tau_entry=0.6, model_precision=precision),
        ),
        features=FEATURES,
    )


def _events(
    db: Engine,
    n: int,
    *,
    hit_rate_when_confident: float,
    seed: int = 0,
    shift: float = 0.0,
    start: int = START - 5 * 24 * HOUR,
    span: int = 6 * 24 * HOUR,
    prefix: str = "e",
) -> None:
    """``n`` scored, matured events at horizons 5 and 15: P uniform in [0.3, 0.9]; below
    tau the outcome follows P, above it hits with ``hit_rate_when_confident``."""
    rng = np.random.default_rng(seed)
    events, labels, predictions = [], [], []
    for i in range(n):
        ts = start + int(span * i / n)
        event_id = f"{prefix}{i:05d}"
        features = {"dist_bps": float(rng.normal(shift, 1)), "atr_bps": float(rng.normal(0, 1))}
        events.append(
            {
                "event_id": event_id,
                "symbol": "SPY",
                "ts_event": ts,
                "level_type": "R1",
                "level_price": 100.0 + i,
                "bar_interval_sec": 60,
                "features_json": json.dumps(features),
                "feature_version": "v",
                "feature_schema_hash": "h",
                "ts_created": ts,
            }
        )
        for horizon in (5, 15):
            p = float(rng.uniform(0.3, 0.9))
            rate = hit_rate_when_confident if p >= 0.6 else p
            held = bool(rng.random() < rate)
            label = "held" if held else "broke"
            labels.append(
                {
                    "event_id": event_id,
                    "horizon_bars": horizon,
                    "label": label,
                    "ts_matured": ts + HOUR,
                }
            )
            predictions.append(
                {
                    "event_id": event_id,
                    "symbol": "SPY",
                    "model_version_id": "v1",
                    "target": "held",
                    "horizon": horizon,
                    "score": p,
                    "ts_scored": ts,
                }
            )
    with db.begin() as connection:
        connection.execute(insert(pivot_events), events)
        connection.execute(insert(event_labels), labels)
        connection.execute(insert(prediction_log), predictions)


def _report(db: Engine, model: ModelFacts | None, services: dict[str, bool] = UP, **kw: object):  # type: ignore[no-untyped-def]
    context = ReportContext(
        model=model,
        config=ReportConfig(**kw),
        staleness=Staleness(72, 168),
        services=services,
        risk_prom=None,
        now_ns=END + HOUR,
    )
    return build_daily_report(SqlReportQueries(db), DAY, context)


def test_state_when_model_performs_as_trained_then_healthy(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _events(db, 400, hit_rate_when_confident=0.75)
    report = _report(db, _model())
    assert report.state == "healthy", report.verdict.reasons
    window = {h.horizon: h for h in report.window}
    stamps = [START - 5 * 24 * HOUR + int(6 * 24 * HOUR * i / 400) for i in range(400)]
    matured = [ts for ts in stamps if ts + HOUR <= END]  # the last hour's are not yet
    assert window[5].samples == len(matured) < 400
    assert report.today[0].samples == sum(1 for ts in matured if ts >= START)
    assert 0.65 < window[5].precision < 0.85  # type: ignore[operator]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"n": 20}, "min_samples"),
        ({"services": {"scorer": False, "collector": True}}, "service scorer unreachable"),
        ({"age": 100.0}, "stale_warn_hours"),
        ({"confident": 0.6}, "precision 0.6"),  # -0.10 vs the model's 0.70
        ({"calibration": True}, "calibration drift"),
        ({"no_model": True}, "no active model"),
    ],
)
def test_state_when_one_warning_sign_then_degrading_with_it_named(
    tmp_path: Path, setup: dict[str, object], reason: str
) -> None:
    db = _db(tmp_path)
    _events(
        db, int(setup.get("n", 400)), hit_rate_when_confident=float(setup.get("confident", 0.75))
    )  # type: ignore[arg-type]
    model = None if setup.get("no_model") else _model(float(setup.get("age", 24.0)))  # type: ignore[arg-type]
    services = setup.get("services", UP)
    config = {"calibration_drift_warn": 0.02} if setup.get("calibration") else {}
    report = _report(db, model, services, **config)  # type: ignore[arg-type]
    assert report.state == "degrading", report.verdict.reasons
    assert any(reason in r for r in report.verdict.reasons), report.verdict.reasons
    assert any("tighter risk limits" in note for note in report.verdict.notes)


def test_state_when_precision_collapses_on_every_horizon_then_kill_switch(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _events(db, 400, hit_rate_when_confident=0.35)  # the model said 0.70
    report = _report(db, _model())
    assert report.state == "kill-switch"
    assert any("every judged horizon" in r for r in report.verdict.reasons)
    assert any("Stop ML-driven execution" in n for n in report.verdict.notes)
    assert any("Keep collecting" in n for n in report.verdict.notes)
    # the misses the operator is told to look at first: confident and wrong, most confident first
    assert report.misses.height == 10
    scores = report.misses["score"].to_list()
    assert scores == sorted(scores, reverse=True)
    assert set(report.misses["label"].to_list()) == {"broke"}


def test_state_when_precision_collapses_on_one_horizon_only_then_degrading(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _events(db, 400, hit_rate_when_confident=0.35)
    model = _model()
    fine = ModelFacts(
        **{
            **{f: getattr(model, f) for f in model.__dataclass_fields__},
            "classifiers": (Classifier("held", 5, 0.6, 0.70), Classifier("held", 15, 0.6, 0.40)),
        }
    )
    report = _report(db, fine)
    assert report.state == "degrading", report.verdict.reasons


def test_state_when_model_too_old_then_kill_switch(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _events(db, 400, hit_rate_when_confident=0.75)
    report = _report(db, _model(trained_hours_ago=200))
    assert report.state == "kill-switch"
    assert any("stale_max_hours" in r for r in report.verdict.reasons)


def test_report_files_history_and_latest_state_when_written_twice(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _events(db, 400, hit_rate_when_confident=0.75)
    _events(
        db,
        200,
        hit_rate_when_confident=0.75,
        seed=3,
        shift=3.0,
        start=START,
        span=20 * HOUR,
        prefix="late",
    )
    report = _report(db, _model())
    folder = tmp_path / "reports"
    written = write_daily_report(report, folder, SqlReportQueries(db))
    names = {p.name for p in written}
    assert {
        "ml_daily_2026-11-20.md",
        "ml_daily_2026-11-20.json",
        "ml_daily_2026-11-20_calibration.png",
        "ml_daily_2026-11-20_precision.png",
        "ml_daily_2026-11-20_drift.png",
    } <= names
    text = (folder / "ml_daily_latest.md").read_text()
    for section in (
        "## Model health",
        "## Data health",
        "## Trading",
        "## Services",
        "## What to do",
    ):
        assert section in text
    drift = {d.feature: d for d in report.drift}
    assert drift["dist_bps"].psi > 0.25  # type: ignore[operator]  # shifted by 3 sd late in the window
    assert drift["atr_bps"].psi < drift["dist_bps"].psi  # type: ignore[operator]
    assert (folder / "ml_daily_2026-11-20_calibration.png").read_bytes()[:4] == b"\x89PNG"
    for png in folder.glob("*.png"):  # readable at 100 %: at least 1200 px wide
        assert int.from_bytes(png.read_bytes()[16:20], "big") >= 1200, png.name
    # the same day again: replaced, not doubled
    write_daily_report(report, folder, SqlReportQueries(db))
    with db.connect() as connection:
        rows = connection.execute(select(daily_ml_metrics)).fetchall()
    assert len(rows) == 2
    assert {r.health_state for r in rows} == {report.state}
    assert latest_state(folder) == (report.state, f"report 2026-11-20: {report.verdict.reasons[0]}")


def test_latest_state_when_file_unreadable_then_kill_switch(tmp_path: Path) -> None:
    assert latest_state(tmp_path) is None
    (tmp_path / "ml_daily_latest.json").write_text("{not json")
    state = latest_state(tmp_path)
    assert state is not None
    assert state[0] == "kill-switch"


def test_equity_curve_when_capital_known_then_drawdown_in_percent_of_equity_at_the_peak() -> None:
    import polars as pl

    from tradeloop.usecases.daily_report import _equity_curve, _max_drawdown_line

    closed = pl.DataFrame({"ts_exit": [5, 1, 2, 3, 4], "pnl": [-200.0, 100.0, -300.0, 50.0, 400.0]})
    curve = _equity_curve(closed, 10_000.0)
    assert curve["pnl"].to_list() == [100.0, -200.0, -150.0, 250.0, 50.0]  # sorted by exit
    assert curve["drawdown"].to_list() == [0.0, -300.0, -250.0, 0.0, -200.0]
    expected = [0.0, -300 / 10_100 * 100, -250 / 10_100 * 100, 0.0, -200 / 10_250 * 100]
    assert curve["drawdown_pct"].to_list() == pytest.approx(expected, rel=1e-12)
    assert _max_drawdown_line(curve) == "- max drawdown of realized PnL: -2.97 % (-300.00 USD)"


def test_equity_curve_when_capital_unknown_then_usd_only_and_said_so() -> None:
    import polars as pl

    from tradeloop.usecases.daily_report import _equity_curve, _max_drawdown_line

    curve = _equity_curve(pl.DataFrame({"ts_exit": [1, 2], "pnl": [-50.0, 20.0]}), None)
    assert curve["drawdown"].to_list() == [-50.0, -30.0]
    assert curve["drawdown_pct"].null_count() == 2
    assert "capital is unknown" in _max_drawdown_line(curve)
    assert "no closed trades" in _max_drawdown_line(_equity_curve(pl.DataFrame(), None))
