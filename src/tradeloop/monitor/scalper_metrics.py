"""The scalper services' metrics under the runbook's names, as Prometheus text files
(``var/metrics/scalper-<service>.prom``, rewritten with the service's status every ~10 s):

- every service: ``stream_messages_handled_total{service}``, ``stream_retries_total``;
- drops: ``signals_dropped_total{stage,reason}``; the executor's
  ``warmup_drop_total{symbol}`` and ``backpressure_total{mode}``; the risk service's
  ``daily_cap_trigger_total``, ``streak_halt_total`` and near-liquidation drops;
- the executor's trading figures on ticks (``trades_opened_total{route}``,
  ``winrate_rolling``, ``fill_rate_rolling``, ``avg_markout_{100,500,1000}ms{route}``:
  the mid that long after each fill, in event time);
- data health: ``parquet_gap_detected_ms{symbol}``, ``exchange_reference_mismatch_total``;
- the rollout: ``executor_canary_fraction_realized``, ``rollout_canary_fraction`` (the
  target), ``fail_safe_trigger_total{reason}``, ``mode_switch_total{from,to}`` (executor and
  supervisor), ``rollback_total{reason}``, ``winrate_canary``, ``winrate_baseline_active``,
  ``sample_canary``, ``psi_feature{feature}``, ``ks_feature{feature}`` (risk service),
  ``onnx_parity_fail_total``, ``shadow_signals_{evaluated,approved}_total`` (ai_scorer).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

from tradeloop.monitor.trading_metrics import MARKOUTS_MS, TradingTracker


def write_service_metrics(
    path: Path, service: str, counters: dict[str, Any], trackers: Sequence[TradingTracker] = ()
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
    if trackers:
        _trading(registry, trackers)
    _rollout(registry, counters.get("rollout") or {})
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


def _trading(registry: CollectorRegistry, trackers: Sequence[TradingTracker]) -> None:
    opened = Counter("trades_opened", "orders opening a position", ["route"], registry=registry)
    texts = {
        "winrate_rolling": "share of the last closed trades that won",
        "fill_rate_rolling": "share of the last orders that got a fill",
        **{f"avg_markout_{ms}ms": f"mean markout {ms} ms after fills, bps" for ms in MARKOUTS_MS},
    }
    gauges = {name: Gauge(name, text, ["route"], registry=registry) for name, text in texts.items()}
    for tracker in trackers:
        route = tracker.route
        opened.labels(route).inc(tracker.opened)
        values = {"winrate_rolling": tracker.winrate, "fill_rate_rolling": tracker.fill_rate,
                  **{f"avg_markout_{ms}ms": tracker.markout(ms) for ms in MARKOUTS_MS}}  # fmt: skip
        for name, value in values.items():
            if value is not None:
                gauges[name].labels(route).set(value)


def _rollout(registry: CollectorRegistry, rollout: dict[str, Any]) -> None:
    if not rollout:
        return
    plain = {
        "executor_canary_fraction_realized": "canary / (canary + paper) orders this canary",
        "rollout_canary_fraction": "the canary share the rollout targets",
        "winrate_canary": "win rate of the canary route's closed trades",
        "winrate_baseline_active": "win rate of the paper route (the active model) meanwhile",
        "sample_canary": "closed canary trades",
    }
    for name, text in plain.items():
        value = rollout.get(name)
        if value is not None:
            Gauge(name, text, registry=registry).set(value)
    labelled = {
        "psi_feature": ("gauge", "feature", "PSI of a scorer input since the canary began"),
        "ks_feature": ("gauge", "feature", "KS of a scorer input since the canary began"),
        "fail_safe_trigger": ("counter", "reason", "CRIT events that moved execution to paper"),
        "rollback": ("counter", "reason", "canary rollbacks by guard rail"),
    }
    for name, (kind, label, text) in labelled.items():
        values = rollout.get(name) or rollout.get(f"{name}_total") or {}
        if kind == "gauge":
            gauge = Gauge(name, text, [label], registry=registry)
            for key, value in sorted(values.items()):
                gauge.labels(key).set(value)
        else:
            counter = Counter(name, text, [label], registry=registry)
            for key, value in sorted(values.items()):
                counter.labels(key).inc(value)
    switches = Counter("mode_switch", "routing mode switches", ["from", "to"], registry=registry)
    for key, value in sorted((rollout.get("mode_switch_total") or {}).items()):
        before, _, after = key.partition("->")
        switches.labels(before, after).inc(value)
    counted = (
        ("onnx_parity_fail", "ONNX parity checks that failed"),
        ("shadow_signals_evaluated", "candidates the shadow model scored"),
        ("shadow_signals_approved", "candidates the shadow model would approve"),
    )
    for name, text in counted:
        if name in rollout:
            Counter(name, text, registry=registry).inc(rollout[name])
