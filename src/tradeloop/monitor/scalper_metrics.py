"""The scalper services' metrics under the runbook's names, as Prometheus text files
(``var/metrics/scalper-<service>.prom``, rewritten with the service's status every ~10 s):

- every service: ``stream_messages_handled_total{service}``, ``stream_retries_total``;
- drops: ``signals_dropped_total{stage,reason}``; the executor's
  ``warmup_drop_total{symbol}`` and ``backpressure_total{mode}``; the risk service's
  ``daily_cap_trigger_total``, ``streak_halt_total`` and near-liquidation drops;
- the executor's trading figures on ticks (``trades_opened_total{route}``,
  ``winrate_rolling``, ``fill_rate_rolling``, ``avg_markout_{100,500,1000}ms{route}``:
  the mid that long after each fill, in event time);
- data health: ``parquet_gap_detected_ms{symbol}``, ``exchange_reference_mismatch_total``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

from tradeloop.monitor.trading_metrics import MARKOUTS_MS, TradingTracker


def write_service_metrics(
    path: Path, service: str, counters: dict[str, Any], tracker: TradingTracker | None = None
) -> Path:
    registry = CollectorRegistry()
    Counter("stream_messages_handled", "stream messages handled", ["service"],
            registry=registry).labels(service).inc(counters.get("handled", 0))  # fmt: skip
    Counter("stream_retries", "transient bus failures retried", ["service"],
            registry=registry).labels(service).inc(counters.get("retries", 0))  # fmt: skip
    dropped = Counter("signals_dropped", "signals dropped, by stage and reason",
                      ["stage", "reason"], registry=registry)  # fmt: skip
    for reason, count in sorted((counters.get("drops") or {}).items()):
        dropped.labels(service, reason or "unknown").inc(count)
    warmup = Counter("warmup_drop", "signals dropped during warm-up", ["symbol"],
                     registry=registry)  # fmt: skip
    for symbol, count in sorted((counters.get("warmup_drops") or {}).items()):
        warmup.labels(symbol).inc(count)
    pressure = Counter("backpressure", "approved signals met over max_queue_len", ["mode"],
                       registry=registry)  # fmt: skip
    for mode, count in sorted((counters.get("backpressure") or {}).items()):
        pressure.labels(mode).inc(count)
    _risk(registry, counters.get("risk_triggers") or {})
    _health(registry, counters.get("health") or {})
    if tracker is not None:
        _trading(registry, tracker)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path


def _risk(registry: CollectorRegistry, triggers: dict[str, int]) -> None:
    for name, key, text in (
        ("daily_cap_trigger", "daily_cap", "daily loss cap trips"),
        ("streak_halt", "streak_halt", "loss-streak cooldowns"),
        ("near_liquidation_long_drop", "near_liquidation_long", "longs too near liquidation"),
        ("near_liquidation_short_drop", "near_liquidation_short", "shorts too near liquidation"),
    ):
        Counter(name, text, registry=registry).inc(triggers.get(key, 0))


def _health(registry: CollectorRegistry, health: dict[str, Any]) -> None:
    gaps = Gauge("parquet_gap_detected_ms", "longest silence in the tick archive", ["symbol"],
                 registry=registry)  # fmt: skip
    for symbol, ms in sorted((health.get("parquet_gap_detected_ms") or {}).items()):
        gaps.labels(symbol).set(ms)
    Counter("exchange_reference_mismatch", "instrument fields differing from the reference",
            registry=registry).inc(health.get("exchange_reference_mismatch_total", 0))  # fmt: skip


def _trading(registry: CollectorRegistry, tracker: TradingTracker) -> None:
    route = tracker.route
    Counter("trades_opened", "orders opening a position", ["route"],
            registry=registry).labels(route).inc(tracker.opened)  # fmt: skip
    rolling = {
        "winrate_rolling": (tracker.winrate, "share of the last closed trades that won"),
        "fill_rate_rolling": (tracker.fill_rate, "share of the last orders that got a fill"),
        **{f"avg_markout_{ms}ms": (tracker.markout(ms), f"mean markout {ms} ms after fills, bps")
           for ms in MARKOUTS_MS},
    }  # fmt: skip
    for name, (value, text) in rolling.items():
        gauge = Gauge(name, text, ["route"], registry=registry)
        if value is not None:
            gauge.labels(route).set(value)
