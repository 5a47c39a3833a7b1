"""Metrics of ingestion runs, in Prometheus text format for the textfile collector.

A batch job has no server to scrape; it writes ``var/metrics/ingest.prom`` atomically
after each run (node_exporter's textfile collector, or ``tradeloop up`` later, exposes it).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from tradeloop.data.ingest import RunSummary
from tradeloop.domain.enums import SymbolState


def write_ingest_metrics(summary: RunSummary, path: Path) -> Path:
    """Write the run's metrics to ``path`` (replacing the previous run's)."""
    registry = CollectorRegistry()
    labels = ["mode"]
    mode = summary.mode.value
    states = Gauge(
        "tradeloop_ingest_symbols",
        "symbols by governance state after the run",
        [*labels, "state"],
        registry=registry,
    )
    counts = Counter(outcome.state for outcome in summary.outcomes)
    for state in SymbolState:
        states.labels(mode, state.value).set(counts.get(state, 0))
    total = len(summary.outcomes)
    rate = Gauge(
        "tradeloop_ingest_rejection_rate",
        "rejected / processed symbols (0..1)",
        labels,
        registry=registry,
    )
    rate.labels(mode).set(len(summary.rejected) / total if total else 0.0)
    alert = Gauge(
        "tradeloop_ingest_rejection_alert",
        "1 when the rejection rate is above limit",
        labels,
        registry=registry,
    )
    alert.labels(mode).set(1 if summary.alert else 0)
    rows = Gauge(
        "tradeloop_ingest_rows_written", "bar rows written by the run", labels, registry=registry
    )
    rows.labels(mode).set(summary.rows_written)
    seconds = Gauge(
        "tradeloop_ingest_duration_seconds", "wall time of the run", labels, registry=registry
    )
    seconds.labels(mode).set(summary.seconds)
    finished = Gauge(
        "tradeloop_ingest_last_run_timestamp_seconds",
        "when the run finished",
        labels,
        registry=registry,
    )
    finished.labels(mode).set(time.time())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path
