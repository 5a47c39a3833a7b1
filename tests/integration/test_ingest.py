"""Batch ingestion end to end on a real database, with offline and HTTP providers."""

from __future__ import annotations

import gzip
import json
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from tradeloop.adapters.bundled import BundledProvider
from tradeloop.adapters.http_client import HttpJsonClient
from tradeloop.adapters.polygon import PolygonProvider
from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.adapters.yahoo import YahooProvider
from tradeloop.core.errors import ConfigError, GovernanceHalt
from tradeloop.core.time import NS_PER_DAY, parse_ns
from tradeloop.data.calendars import expected_sessions
from tradeloop.data.config import IngestConfig, QualityConfig, RetryConfig
from tradeloop.data.ingest import FetchTask, IngestMode, Ingestor, IngestPlan, fetch_symbol
from tradeloop.data.live_guard import LiveGuard
from tradeloop.data.ports import Provider
from tradeloop.data.raw_archive import RawArchive
from tradeloop.data.universe import Universe, UniverseEntry
from tradeloop.domain.asset_class import AssetClass, classify_symbol
from tradeloop.domain.enums import SymbolState
from tradeloop.store.sql.ingest_store import SqlIngestStore
from tradeloop.store.sql.tables import price_history
from tradeloop.testing import stub_bars
from tradeloop.testing.http_server import FakeHttpServer, Reply
from tradeloop.testing.payloads import polygon_aggs
from tradeloop.usecases.governance_gate import require_tradeable

AS_OF = parse_ns("2024-06-28")
OFFLINE = IngestConfig(priority=("synthetic",))


def _universe(*symbols: str) -> Universe:
    return Universe(tuple(UniverseEntry(s, classify_symbol(s)) for s in symbols), "test")


def _ingestor(engine: Engine, tmp_path: Path, config: IngestConfig = OFFLINE) -> Ingestor:
    return Ingestor(
        store=SqlIngestStore(engine),
        config=config,
        quality=QualityConfig(),
        guard=LiveGuard(tmp_path / "TRADING_MODE"),
    )


def _fetcher(
    providers: dict[str, Provider],
    config: IngestConfig = OFFLINE,
    entitled: dict[str, bool] | None = None,
):  # type: ignore[no-untyped-def]
    return partial(fetch_symbol, providers=providers, config=config, entitled=entitled or {})


def _stored(engine: Engine, symbol: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(price_history)
                .where(price_history.c.symbol == symbol)
            ).scalar_one()
        )


def test_deep_backfill_when_offline_then_1260_sessions_active_and_audited(
    engine: Engine, tmp_path: Path
) -> None:
    plan = IngestPlan(
        IngestMode.DEEP_BACKFILL, _universe("SPY", "EURUSD=X", "BTC-USD").entries, AS_OF
    )
    summary = _ingestor(engine, tmp_path).run(
        plan, fetcher=_fetcher({"synthetic": SyntheticProvider(3)})
    )
    assert summary.status == "OK"
    assert [(o.symbol, o.state, o.quality.rows) for o in summary.outcomes] == [
        ("SPY", SymbolState.ACTIVE, 1260),
        ("EURUSD=X", SymbolState.ACTIVE, 1260),
        ("BTC-USD", SymbolState.ACTIVE, 1260),
    ]
    store = SqlIngestStore(engine)
    lines = store.audit_lines(summary.run_id)
    assert {line["decision"] for line in lines} == {"OK"}
    assert store.run_summary(summary.run_id)["rows_written"] == 3 * 1260  # type: ignore[index]
    # The window is the calendar's last 1,260 sessions ending at as_of.
    spy = store.load_bars("SPY", 86_400)
    sessions = expected_sessions(AssetClass.STOCKS, int(spy["ts"][0]), AS_OF)
    assert spy["ts"].to_list() == sessions.tolist()
    assert spy["ts"][-1] == AS_OF


def test_rerun_and_incremental_when_repeated_then_no_duplicates_and_only_new_days_fetched(
    engine: Engine, tmp_path: Path
) -> None:
    provider = SyntheticProvider(3)
    entries = _universe("SPY").entries
    ingestor = _ingestor(engine, tmp_path)
    ingestor.run(
        IngestPlan(IngestMode.DEEP_BACKFILL, entries, AS_OF),
        fetcher=_fetcher({"synthetic": provider}),
    )
    ingestor.run(
        IngestPlan(IngestMode.DEEP_BACKFILL, entries, AS_OF),
        fetcher=_fetcher({"synthetic": provider}),
    )
    assert _stored(engine, "SPY") == 1260
    later = parse_ns("2024-07-12")
    tasks = ingestor.plan_tasks(IngestPlan(IngestMode.INCREMENTAL, entries, later))
    assert [(t.start_ns, t.end_ns) for t in tasks] == [(AS_OF + NS_PER_DAY, later + NS_PER_DAY)]
    summary = ingestor.run(
        IngestPlan(IngestMode.INCREMENTAL, entries, later),
        fetcher=_fetcher({"synthetic": provider}),
    )
    assert summary.rows_written == 9  # 2024-07-01..12 less the 4th of July
    assert summary.outcomes[0].state is SymbolState.ACTIVE
    up_to_date = ingestor.run(
        IngestPlan(IngestMode.INCREMENTAL, entries, later),
        fetcher=_fetcher({"synthetic": provider}),
    )
    assert up_to_date.outcomes[0].decision == "UP_TO_DATE"
    assert up_to_date.rows_written == 0


def test_short_history_when_ingested_then_degraded_or_quarantined(
    engine: Engine, tmp_path: Path
) -> None:
    bundled = BundledProvider()
    # Real history ending 2009-06-30: ^IXIC has it all; GOOG listed in August 2004, so
    # about 1,225 sessions (DEGRADED); EURUSD=X is bundled hourly only (QUARANTINED).
    plan = IngestPlan(
        IngestMode.DEEP_BACKFILL,
        _universe("^IXIC", "GOOG", "EURUSD=X").entries,
        parse_ns("2009-06-30"),
    )
    config = IngestConfig(priority=("bundled",))
    summary = _ingestor(engine, tmp_path, config).run(
        plan, fetcher=_fetcher({"bundled": bundled}, config)
    )
    states = {o.symbol: (o.state, o.quality.rows) for o in summary.outcomes}
    assert states["^IXIC"] == (SymbolState.ACTIVE, 1260)
    assert states["GOOG"][0] is SymbolState.DEGRADED
    assert 1000 <= states["GOOG"][1] < 1260
    assert states["EURUSD=X"][0] is SymbolState.QUARANTINED
    assert summary.status == "PARTIAL"
    assert summary.alert is not None
    assert "rejection rate 33.3%" in summary.alert


def test_repair_when_range_given_then_only_that_range_refetched_idempotently(
    engine: Engine, tmp_path: Path
) -> None:
    provider = SyntheticProvider(3)
    entries = _universe("SPY").entries
    ingestor = _ingestor(engine, tmp_path)
    ingestor.run(
        IngestPlan(IngestMode.DEEP_BACKFILL, entries, AS_OF),
        fetcher=_fetcher({"synthetic": provider}),
    )
    with engine.begin() as connection:
        march = price_history.c.ts.between(parse_ns("2023-03-01"), parse_ns("2023-03-31"))
        connection.execute(price_history.delete().where(march))
    lost = ingestor.run(IngestPlan(IngestMode.VERIFY, entries, AS_OF), fetcher=_fetcher({}))
    assert lost.outcomes[0].state is SymbolState.DEGRADED
    repair = IngestPlan(IngestMode.REPAIR, entries, parse_ns("2023-03-31"), parse_ns("2023-03-01"))
    for _ in range(2):
        summary = ingestor.run(repair, fetcher=_fetcher({"synthetic": provider}))
        assert summary.outcomes[0].state is SymbolState.ACTIVE
    assert _stored(engine, "SPY") == 1260


def test_providers_when_first_refuses_then_next_used_and_refusal_sticks_for_the_run(
    engine: Engine, tmp_path: Path
) -> None:
    spy, qqq = stub_bars("SPY", 1400, start_ns=parse_ns("2018-01-01")), None
    del qqq
    with FakeHttpServer() as server:
        server.script("/v8/finance/chart/SPY", Reply(401, {"finance": {"error": "Unauthorized"}}))
        server.script("/v8/finance/chart/QQQ", Reply(401, {"finance": {"error": "Unauthorized"}}))
        retry = RetryConfig(max_attempts=2, base_delay_ms=1, max_delay_ms=2, timeout_ms=2000)
        yahoo = YahooProvider(
            HttpJsonClient("yahoo", server.url, retry=retry, rate_per_minute=1000)
        )
        config = IngestConfig(priority=("yahoo", "synthetic"))
        providers: dict[str, Provider] = {"yahoo": yahoo, "synthetic": SyntheticProvider(3)}
        summary = _ingestor(engine, tmp_path, config).run(
            IngestPlan(IngestMode.DEEP_BACKFILL, _universe("SPY", "QQQ").entries, AS_OF),
            fetcher=_fetcher(providers, config, {"yahoo": True}),
        )
        assert server.hits("/v8/finance/chart/SPY") == 1  # no retry on 401
        assert server.hits("/v8/finance/chart/QQQ") == 0  # refused for the rest of the run
    del spy
    spy_outcome, qqq_outcome = summary.outcomes
    assert [a.outcome for a in spy_outcome.attempts] == ["NOT_ENTITLED", "OK"]
    assert spy_outcome.provider == qqq_outcome.provider == "synthetic"
    assert next((a.provider, a.outcome) for a in qqq_outcome.attempts) == ("yahoo", "SKIPPED")


def test_routing_when_no_provider_serves_then_no_valid_provider_logged(
    engine: Engine, tmp_path: Path
) -> None:
    config = IngestConfig(priority=("alpaca",))
    summary = _ingestor(engine, tmp_path, config).run(
        IngestPlan(IngestMode.DEEP_BACKFILL, _universe("EURUSD=X").entries, AS_OF),
        fetcher=_fetcher({"alpaca": SyntheticProvider(1)}, config, {"alpaca": True}),
    )
    (outcome,) = summary.outcomes
    assert outcome.decision == "NO_VALID_PROVIDER"
    assert outcome.state is SymbolState.QUARANTINED
    assert "alpaca: does not serve fx" in outcome.reason
    lines = SqlIngestStore(engine).audit_lines(summary.run_id)
    assert lines[-1]["decision"] == "NO_VALID_PROVIDER"


def test_bad_payload_when_data_already_stored_then_nothing_lost_and_reason_audited(
    engine: Engine, tmp_path: Path
) -> None:
    start = parse_ns("2024-07-01")
    good = SyntheticProvider(3)
    entries = _universe("SPY").entries
    ingestor = _ingestor(engine, tmp_path, IngestConfig(priority=("synthetic",)))
    ingestor.run(
        IngestPlan(IngestMode.DEEP_BACKFILL, entries, AS_OF), fetcher=_fetcher({"synthetic": good})
    )
    with FakeHttpServer() as server:
        bars = stub_bars("SPY", 10, start_ns=start).with_columns(pl.lit(-5.0).alias("low"))
        server.script(
            "/v2/aggs/ticker/SPY/range/1/day/2024-06-29/2024-07-12",
            Reply(200, polygon_aggs("SPY", bars)),
        )
        polygon = PolygonProvider(
            HttpJsonClient("polygon", server.url, retry=RetryConfig(), rate_per_minute=100)
        )
        config = IngestConfig(priority=("polygon",))
        summary = _ingestor(engine, tmp_path, config).run(
            IngestPlan(IngestMode.INCREMENTAL, entries, parse_ns("2024-07-12")),
            fetcher=_fetcher({"polygon": polygon}, config, {"polygon": True}),
        )
    (outcome,) = summary.outcomes
    assert outcome.decision == "FETCH_FAILED"
    assert "non-positive price" in outcome.reason
    # Nothing stored is lost; the new sessions are missing, so the window is short.
    assert _stored(engine, "SPY") == 1260
    assert outcome.state is SymbolState.DEGRADED
    assert outcome.reason.startswith("1251 rows")


def test_raw_archive_when_payload_has_credentials_then_stripped(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "raw")
    archive.begin_run("run-1")
    path = archive.save(
        "EURUSD=X",
        "polygon",
        {
            "next_url": "https://api.polygon.io/v2/aggs?cursor=abc&apiKey=SECRET1",
            "request": {"api_key": "SECRET2", "token": "SECRET3"},
            "results": [1, 2],
        },
    )
    assert path == tmp_path / "raw" / "run-1" / "EURUSD=X_polygon.json.gz"
    text = gzip.decompress(path.read_bytes()).decode()
    assert "SECRET" not in text
    assert json.loads(text)["results"] == [1, 2]


def test_live_guard_when_live_process_runs_then_multi_year_fetch_refused(
    engine: Engine, tmp_path: Path
) -> None:
    guard = LiveGuard(tmp_path / "TRADING_MODE")
    guard.announce("live")
    try:
        with pytest.raises(GovernanceHalt, match="GUARD VIOLATION"):
            _ingestor(engine, tmp_path).run(
                IngestPlan(IngestMode.DEEP_BACKFILL, _universe("SPY").entries, AS_OF),
                fetcher=_fetcher({"synthetic": SyntheticProvider(3)}),
            )
        guard.announce("paper")  # only a live process guards its data feed
        tasks = _ingestor(engine, tmp_path).plan_tasks(
            IngestPlan(IngestMode.DEEP_BACKFILL, _universe("SPY").entries, AS_OF)
        )
    finally:
        guard.withdraw()
    assert [t.symbol for t in tasks] == ["SPY"]
    assert tasks[0].end_ns - tasks[0].start_ns > 5 * 365 * NS_PER_DAY  # the multi-year fetch


def test_governance_gate_when_symbol_not_active_then_halt_block_logged(tmp_path: Path) -> None:
    log = tmp_path / "governance_halt.log"
    states = {"SPY": ("ACTIVE", "ok"), "AAPL": ("DEGRADED", "1100 rows < required 1260")}
    require_tradeable(states, ["SPY"], 1260, log, AS_OF)
    with pytest.raises(GovernanceHalt) as halt:
        require_tradeable(states, ["SPY", "AAPL", "MSFT"], 1260, log, AS_OF)
    block = log.read_text()
    for line in (
        "[DATA_GOVERNANCE]",
        "Missing historical data detected",
        "Symbols affected: 2",
        "Required rows per symbol: 1260",
        "System halted intentionally",
        "MSFT: MISSING: never ingested",
    ):
        assert line in block
        assert line in str(halt.value)


def test_universe_when_tickers_outside_then_clear_error() -> None:
    with pytest.raises(ConfigError, match="--tickers TSLA: not in the universe"):
        _universe("SPY").select(("SPY", "TSLA"))


def test_fetch_symbol_when_alpaca_asked_for_5_years_then_skipped() -> None:
    task = FetchTask("AAPL", AssetClass.STOCKS, parse_ns("2019-06-01"), AS_OF, None)
    config = IngestConfig(priority=("alpaca", "synthetic"))
    result = fetch_symbol(
        task,
        {"alpaca": SyntheticProvider(1), "synthetic": SyntheticProvider(2)},
        config,
        {"alpaca": True},
    )
    assert result.provider == "synthetic"
    assert "max_history_days 730" in result.attempts[0].detail


def test_provider_when_unreachable_for_three_symbols_then_skipped_for_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    retry = RetryConfig(max_attempts=2, base_delay_ms=1, max_delay_ms=2, timeout_ms=300)
    # Nothing listens on port 9: every request fails to connect.
    dead = YahooProvider(
        HttpJsonClient("yahoo", "http://127.0.0.1:9", retry=retry, rate_per_minute=1000)
    )
    config = IngestConfig(priority=("yahoo", "synthetic"))
    symbols = ("A", "B", "C", "D", "E")
    summary = _ingestor(engine, tmp_path, config).run(
        IngestPlan(IngestMode.DEEP_BACKFILL, _universe(*symbols).entries, AS_OF),
        fetcher=_fetcher({"yahoo": dead, "synthetic": SyntheticProvider(3)}, config),
    )
    outcomes = [[a.outcome for a in o.attempts if a.provider == "yahoo"] for o in summary.outcomes]
    assert outcomes == [["RETRY_EXHAUSTED"]] * 3 + [["SKIPPED"]] * 2
    assert "unreachable" in summary.outcomes[3].attempts[0].detail
    assert {o.state for o in summary.outcomes} == {SymbolState.ACTIVE}


def test_explicit_range_when_shorter_than_the_window_then_stored_history_counts(
    engine: Engine, tmp_path: Path
) -> None:
    """The README's ``--start 2020-01-01 --end 2024-12-31`` covers 1,258 sessions: on a
    store holding the history before it, the symbol stays ACTIVE; on an empty store the
    short range alone is not the 1,260 sessions governance asks for."""
    provider = SyntheticProvider(3)
    universe = _universe("SPY").entries
    end, start = parse_ns("2024-12-31"), parse_ns("2020-01-01")
    fresh = _ingestor(engine, tmp_path).run(
        IngestPlan(IngestMode.DEEP_BACKFILL, universe, end, start),
        fetcher=_fetcher({"synthetic": provider}),
    )
    assert fresh.outcomes[0].state is SymbolState.DEGRADED  # 1,258 sessions, nothing before
    assert fresh.outcomes[0].quality.rows == 1258
    backfilled = _ingestor(engine, tmp_path).run(
        IngestPlan(IngestMode.DEEP_BACKFILL, universe, end),
        fetcher=_fetcher({"synthetic": provider}),
    )
    assert backfilled.outcomes[0].state is SymbolState.ACTIVE
    again = _ingestor(engine, tmp_path).run(
        IngestPlan(IngestMode.DEEP_BACKFILL, universe, end, start),
        fetcher=_fetcher({"synthetic": provider}),
    )
    assert again.outcomes[0].state is SymbolState.ACTIVE, again.outcomes[0].reason
    assert again.outcomes[0].quality.rows >= 1260
