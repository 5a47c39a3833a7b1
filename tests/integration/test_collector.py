"""The collector against a real SQLite store: resume, outage, recovery, /health."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from tradeloop.adapters.replay import ReplayProvider
from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.errors import RetryableError
from tradeloop.core.time import NS_PER_DAY, parse_ns
from tradeloop.data.ports import BarRequest
from tradeloop.features.config import PivotConfig
from tradeloop.store.sql.engine import open_engine
from tradeloop.store.sql.event_store import SqlEventStore
from tradeloop.store.sql.ingest_store import SqlIngestStore
from tradeloop.store.sql.migrate import upgrade
from tradeloop.usecases.collector import Collector, CollectorConfig, HealthServer

NOW = parse_ns("2024-03-15T21:00:00")


class FlakyProvider:
    """Wraps a provider; fails while ``down`` is set, like an outage."""

    name = "flaky"

    def __init__(self, inner: SyntheticProvider) -> None:
        self.inner = inner
        self.down = False

    def symbols(self) -> tuple[str, ...]:
        return ()

    def fetch_bars(self, request: BarRequest) -> pl.DataFrame:
        if self.down:
            raise RetryableError("provider outage (HTTP 503)")
        return self.inner.fetch_bars(request)


def _collector(tmp_path: Path, provider: object, clock: list[int], **config: object) -> Collector:
    engine = open_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    store = SqlIngestStore(engine)
    options: dict[str, object] = {"symbols": ("SPY",), **config}
    settings = CollectorConfig(source="test", poll_s=45, range_days=10, **options)  # type: ignore[arg-type]
    return Collector(
        provider=provider,
        bars=store,
        events=SqlEventStore(engine),  # type: ignore[arg-type]
        last_bar_ts=store.last_bar_ts,
        config=settings,
        pivots=PivotConfig(),
        clock_ns=lambda: clock[0],
    )


def test_collector_when_restarted_then_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    clock = [NOW - 2 * NS_PER_DAY]
    (tmp_path / "a").mkdir()
    first = _collector(tmp_path / "a", SyntheticProvider(3), clock)
    (result,) = first.poll()
    assert result.bars_new > 0
    assert result.events_new > 0
    clock[0] = NOW
    second = _collector(tmp_path / "a", SyntheticProvider(3), clock)  # a restart, same store
    (resumed,) = second.poll()
    assert resumed.bars_new == 2 * 390  # only the two sessions it had not seen
    (again,) = second.poll()
    assert (again.bars_new, again.events_new) == (0, 0)
    # The interrupted collection equals one uninterrupted collection of the same window.
    (tmp_path / "b").mkdir()
    whole = _collector(tmp_path / "b", SyntheticProvider(3), [NOW])
    whole.poll()
    interrupted = second.events.load_events().filter(pl.col("ts_event") > NOW - 8 * NS_PER_DAY)
    reference = whole.events.load_events().filter(pl.col("ts_event") > NOW - 8 * NS_PER_DAY)
    assert sorted(interrupted["event_id"].to_list()) == sorted(reference["event_id"].to_list())


def test_collector_when_provider_down_then_degraded_backs_off_and_recovers(
    tmp_path: Path,
) -> None:
    clock = [NOW]
    provider = FlakyProvider(SyntheticProvider(3))
    collector = _collector(tmp_path, provider, clock)
    provider.down = True
    collector.poll()
    collector.poll()
    snapshot = collector.health.snapshot(clock[0])
    assert snapshot["status"] == "degraded"
    assert snapshot["consecutive_errors"] == 2
    assert "outage" in snapshot["last_error"]
    assert collector.next_delay_sec() == 180.0  # 45 s doubled twice
    provider.down = False
    (result,) = collector.poll()
    assert result.bars_new > 0
    assert collector.health.snapshot(clock[0])["status"] == "ok"
    assert collector.next_delay_sec() == 45.0


def test_health_server_when_polled_then_serves_health_and_metrics(tmp_path: Path) -> None:
    clock = [NOW]
    collector = _collector(tmp_path, SyntheticProvider(3), clock)
    collector.poll()
    server = HealthServer(
        "127.0.0.1", 0, lambda: collector.health.snapshot(clock[0]), collector.metrics
    )
    server.start()
    try:
        host, port = server.address
        with urllib.request.urlopen(f"http://{host}:{port}/health") as response:
            health = json.loads(response.read())
        with urllib.request.urlopen(f"http://{host}:{port}/metrics") as response:
            metrics = response.read().decode()
    finally:
        server.stop()
    assert health["status"] == "ok"
    assert health["bars_today"] > 0
    assert health["events_today"] > 0
    assert health["source"] == "test"
    assert 'tradeloop_collector_polls_total{outcome="ok"} 1.0' in metrics


def test_replay_when_clock_advances_then_bars_appear_as_if_live() -> None:
    bars = SyntheticProvider(3).fetch_bars(
        BarRequest("SPY", parse_ns("2024-03-11"), parse_ns("2024-03-12"), 60)
    )
    wall = [0]
    replay = ReplayProvider(bars, start_ns=int(bars["ts"][0]), speed=600, clock_ns=lambda: wall[0])
    request = BarRequest("SPY", parse_ns("2024-03-11"), parse_ns("2024-03-12"), 60)
    assert replay.fetch_bars(request).is_empty()
    wall[0] = 10**9  # one wall second = ten market minutes
    assert replay.fetch_bars(request).height == 10
    with pytest.raises(ValueError, match="speed"):
        ReplayProvider(bars, start_ns=0, speed=0, clock_ns=lambda: 0)


def test_sanitize_when_provider_sends_bad_rows_then_dropped_counted_never_stored() -> None:
    from tradeloop.testing import stub_bars
    from tradeloop.usecases.collector import sanitize_bars

    start = parse_ns("2024-03-11T14:30:00")
    bars = stub_bars("SPY", 30, start_ns=start, bar_interval_sec=60)
    broken = pl.concat(
        [
            bars.slice(10, 20),  # out of order: later rows first
            bars.slice(0, 10),
            bars.slice(5, 1),  # a duplicate key
            bars.slice(29, 1).with_columns(pl.col("ts") + 60 * 10**9),  # still forming
            bars.slice(0, 1).with_columns(pl.col("ts") - 3600 * 10**9),  # before the window
        ]
    )
    broken = broken.with_columns(
        pl.when(pl.col("ts") == bars["ts"][12]).then(-1.0).otherwise(pl.col("low")).alias("low"),
        pl.when(pl.col("ts") == bars["ts"][3]).then(0.0).otherwise("volume").alias("volume"),
    )
    clean, issues = sanitize_bars(broken, start_ns=start, now_ns=int(bars["ts"][29]) + 60 * 10**9)
    assert issues == {
        "out_of_order": 3,
        "duplicates": 1,
        "forming": 1,
        "before_window": 1,
        "invalid": 1,
        "zero_volume": 1,
        "gaps": 1,
    }
    assert clean.height == 29
    assert clean["ts"].is_sorted()


def test_collector_when_dst_changes_then_sessions_follow_new_york(tmp_path: Path) -> None:
    # 2024-03-10: clocks go forward; the session opens 14:30 UTC before, 13:30 UTC after.
    clock = [parse_ns("2024-03-12T21:00:00")]
    collector = _collector(tmp_path, SyntheticProvider(3), clock)
    collector.poll()
    events = collector.events.load_events()
    stored = collector.bars.load_bars("SPY", 60)
    opens = (
        stored.with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")).alias("t"))
        .group_by(pl.col("t").dt.date().alias("day"))
        .agg(pl.col("t").min())
        .sort("day")
    )
    hours = {row[0].isoformat(): row[1].hour for row in opens.iter_rows()}
    assert hours["2024-03-08"] == 14
    assert hours["2024-03-11"] == 13
    assert events.height > 0
    assert set(events["session"].to_list()) <= set(hours)


def test_collector_when_scoring_enabled_then_predictions_logged_and_outage_survived(
    tmp_path: Path,
) -> None:
    from sqlalchemy import select

    from tradeloop.ops.scoring_client import ScorerClient, prediction_rows
    from tradeloop.store.sql.prediction_log import write_predictions
    from tradeloop.store.sql.tables import prediction_log
    from tradeloop.testing.http_server import FakeHttpServer, Reply

    clock = [NOW - NS_PER_DAY]
    collector = _collector(tmp_path, SyntheticProvider(3), clock)
    engine = collector.events._engine

    def answer() -> Reply:
        return Reply(
            200,
            {"model_version_id": "m1", "alias": "active", "is_preview": False, "predictions": []},
        )

    with FakeHttpServer() as scorer_server:
        scorer_server.script("/score", Reply(503, {"error": "loading"}))
        client = ScorerClient(scorer_server.url)

        def scorer(events: pl.DataFrame) -> int:
            reply = client.score(events)
            reply["predictions"] = [
                {"event_id": e, "target": "held", "horizon": 15, "score": 0.5, "quality_flags": []}
                for e in events["event_id"].to_list()
            ]
            return write_predictions(engine, prediction_rows(events, reply, clock[0]))

        collector.scorer = scorer
        (first,) = collector.poll()
        health = collector.health.snapshot(clock[0])
        assert health["status"] == "ok"  # a scorer outage never stops collection
        assert health["scoring"]["errors"] == 1
        scorer_server.script("/score", answer())
        clock[0] = NOW
        (second,) = collector.poll()
        sent = json.loads(scorer_server.requests[-1].body)["events"]
    assert {e["event_id"] for e in sent} >= set(first.inserted["event_id"].to_list())  # type: ignore[index]
    assert sent[0]["feature_schema_hash"]
    with engine.connect() as connection:
        logged = connection.execute(select(prediction_log)).mappings().all()
    assert len(logged) == first.events_new + second.events_new
    assert {row["is_preview"] for row in logged} == {False}
    assert collector.health.snapshot(clock[0])["scoring"]["predictions_logged"] == len(logged)


def test_health_when_day_changes_then_today_counters_restart(tmp_path: Path) -> None:
    clock = [NOW - NS_PER_DAY]
    collector = _collector(tmp_path, SyntheticProvider(3), clock)
    collector.poll()
    assert collector.health.snapshot(clock[0])["bars_today"] > 390
    clock[0] = NOW
    (result,) = collector.poll()
    assert collector.health.snapshot(clock[0])["bars_today"] == result.bars_new == 390


def test_poll_when_watched_then_each_symbol_heard_once_stored_in_order(tmp_path: Path) -> None:
    # what collect --once's progress lines count
    collector = _collector(tmp_path, SyntheticProvider(3), [NOW], symbols=("SPY", "QQQ"))
    heard: list[tuple[str, int]] = []
    results = collector.poll(lambda r: heard.append((r.symbol, r.bars_new)))
    assert heard == [(r.symbol, r.bars_new) for r in results]
    assert [symbol for symbol, _ in heard] == ["SPY", "QQQ"]
