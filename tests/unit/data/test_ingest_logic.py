"""Ingestion decisions on the in-memory store: fast, no database."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tradeloop.adapters.synthetic import SyntheticProvider
from tradeloop.core.time import parse_ns
from tradeloop.data.config import IngestConfig, QualityConfig
from tradeloop.data.ingest import IngestMode, Ingestor, IngestPlan, fetch_symbol
from tradeloop.data.live_guard import LiveGuard
from tradeloop.data.universe import UniverseEntry
from tradeloop.domain.asset_class import classify_symbol
from tradeloop.domain.enums import SymbolState
from tradeloop.testing import InMemoryIngestStore

AS_OF = parse_ns("2024-06-28")


def test_ingestor_when_batches_smaller_than_universe_then_every_symbol_decided_once(
    tmp_path: Path,
) -> None:
    config = IngestConfig(priority=("synthetic",), commit_batch_symbols=2)
    store = InMemoryIngestStore()
    entries = tuple(UniverseEntry(s, classify_symbol(s)) for s in ("A", "B", "C", "EURUSD=X", "E"))
    ingestor = Ingestor(
        store=store,
        config=config,
        quality=QualityConfig(),
        guard=LiveGuard(tmp_path / "TRADING_MODE"),
    )
    fetcher = partial(
        fetch_symbol, providers={"synthetic": SyntheticProvider(2)}, config=config, entitled={}
    )
    summary = ingestor.run(IngestPlan(IngestMode.DEEP_BACKFILL, entries, AS_OF), fetcher=fetcher)
    assert [o.symbol for o in summary.outcomes] == ["A", "B", "C", "EURUSD=X", "E"]
    assert store.governance == dict.fromkeys(("A", "B", "C", "EURUSD=X", "E"), SymbolState.ACTIVE)
    assert store.frame.height == 5 * 1260
    verify = ingestor.run(IngestPlan(IngestMode.VERIFY, entries, AS_OF), fetcher=fetcher)
    assert {o.decision for o in verify.outcomes} == {"VERIFIED"}
    assert summary.rows_written == 5 * 1260
    assert verify.rows_written == 0
