"""The pivot-event data path after collection: labels matured from stored bars, then
events and labels exported to the Parquet/DuckDB lake (both idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import polars as pl

from tradeloop.labels.config import EventLabelConfig
from tradeloop.labels.event_outcomes import label_events
from tradeloop.store.lake import check_lake, export_lake

__all__ = ["build_labels", "check_lake", "export_events"]


class EventStore(Protocol):
    def load_events(self) -> pl.DataFrame: ...

    def load_labels(self) -> pl.DataFrame: ...

    def upsert_labels(self, labels: pl.DataFrame) -> int: ...


class BarSource(Protocol):
    def load_bars(
        self, symbol: str, bar_interval_sec: int, *, as_of_ns: int | None = None
    ) -> pl.DataFrame: ...


def build_labels(
    events_store: EventStore, bars: BarSource, config: EventLabelConfig, as_of_ns: int | None = None
) -> dict[str, int]:
    """Mature every stored event's outcomes (idempotent); counts of events and labels."""
    events = events_store.load_events()
    total = 0
    if events.height:
        for (symbol, interval), group in events.group_by(["symbol", "bar_interval_sec"]):
            history = bars.load_bars(str(symbol), int(interval), as_of_ns=as_of_ns)
            labels = label_events(group, history, config, as_of_ns=as_of_ns)
            total += events_store.upsert_labels(labels)
    return {"events": events.height, "labels_written": total}


def export_events(events_store: EventStore, lake: Path) -> dict[str, Any]:
    """Export events and labels to the lake (incremental)."""
    return export_lake(lake, events_store.load_events(), events_store.load_labels())
