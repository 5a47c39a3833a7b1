"""The risk service's data-health checks, run between batches every ``interval_s``:

- the Parquet gap scan of the tick archive (``parquet_gap_detected_ms{symbol}``: the
  longest silence found, 0 when none);
- the exchange reference validator (``exchange_reference_mismatch_total``: each field of
  ``scalper.instruments`` that differs from the reference table).

Findings are logged with what to do, and kept on the stage for its status and metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeloop.bootstrap.app import App
from tradeloop.core.errors import DataError
from tradeloop.data.instrument_reference import InstrumentSpec, load_reference, mismatches
from tradeloop.data.tick_gaps import scan_gaps

log = logging.getLogger(__name__)


def tick_archive_root(app: App) -> Path:
    configured = app.config.scalper.data_health.parquet_root
    return Path(configured) if configured else app.settings.home / "lake" / "ticks"


def configured_instruments(app: App) -> dict[str, InstrumentSpec]:
    return {
        symbol: InstrumentSpec(symbol, i.lot_size, i.tick_size, i.min_qty, i.maker_fee, i.taker_fee)
        for symbol, i in app.config.scalper.instruments.items()
    }


def check_health(app: App) -> dict[str, Any]:
    """One pass of both checks; what the metrics and the status show."""
    config = app.config.scalper.data_health
    result: dict[str, Any] = {"checked_ns": time.time_ns()}
    root = tick_archive_root(app)
    if root.is_dir():
        report = scan_gaps(root, config.max_gap_ms)
        result["parquet_gap_detected_ms"] = report.largest_gap_ms()
        result["parquet_missing_dates"] = {s: d for s, d in report.missing_dates.items() if d}
        for gap in report.gaps[:20]:
            log.warning(
                "tick archive gap: %s %.0f ms from %d (fix: backfill, or check the "
                "collector's log for that time)", gap.symbol, gap.ms, gap.start_ns,
            )  # fmt: skip
    reference_file = Path(config.reference_file) if config.reference_file else None
    try:
        found = mismatches(configured_instruments(app), load_reference(reference_file))
    except DataError as exc:
        log.error("reference validator: %s", exc)
        found = []
        result["reference_error"] = str(exc)
    result["exchange_reference_mismatches"] = [m.describe() for m in found]
    for mismatch in found:
        log.warning("exchange reference mismatch: %s (fix: correct scalper.instruments)",
                    mismatch.describe())  # fmt: skip
    return result


def prune_decisions(app: App, keep_days: float = 7.0) -> int:
    """Forget stream decisions older than ``keep_days`` (a message redelivered after a week
    is not waiting for its verdict: its stream was trimmed long before)."""
    from tradeloop.store.sql.stream_decisions import SqlDecisionLog

    return SqlDecisionLog(app.engine).prune(time.time_ns() - int(keep_days * 86_400e9))


def health_task(app: App, stage: Any) -> Callable[[], None]:
    every = app.config.scalper.data_health.interval_s
    state = {"due": 0.0, "mismatch_total": 0}

    def run() -> None:
        now = time.monotonic()
        if now < state["due"]:
            return
        state["due"] = now + every
        result = check_health(app)
        result["decisions_pruned"] = prune_decisions(app)
        state["mismatch_total"] += len(result["exchange_reference_mismatches"])
        result["exchange_reference_mismatch_total"] = state["mismatch_total"]
        stage.health = result

    return run
