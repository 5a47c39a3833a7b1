"""The risk gate's counters in Prometheus text format (``var/metrics/risk.prom``).

Every denial by reason code, and the triggers the runbooks name: ``daily_cap_trigger_total``,
``streak_halt_total``, ``warmup_drop_total{symbol}``, near-liquidation drops, venue-failure
halts; plus the trading state. The daemon rewrites the file at each heartbeat.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

from tradeloop.domain.enums import TradingState
from tradeloop.risk.gate import RiskGate


def write_risk_metrics(gate: RiskGate, account: str, path: Path) -> Path:
    registry = CollectorRegistry()
    denials = Counter(
        "tradeloop_risk_denials",
        "orders denied, by reason code",
        ["account", "reason"],
        registry=registry,
    )
    for reason, count in sorted(gate.counts.items()):
        denials.labels(account, reason).inc(count)
    named = {
        "daily_cap": Counter(
            "daily_cap_trigger", "daily loss limit tripped", ["account"], registry=registry
        ),
        "streak_halt": Counter(
            "streak_halt", "loss streak cooldowns", ["account"], registry=registry
        ),
    }
    for name, counter in named.items():
        counter.labels(account).inc(gate.triggers.get(name, 0))
    warmup = Counter(
        "warmup_drop", "signals dropped during warm-up", ["account", "symbol"], registry=registry
    )
    others = Counter(
        "tradeloop_risk_triggers", "other risk triggers", ["account", "trigger"], registry=registry
    )
    for key, count in sorted(gate.triggers.items()):
        if key.startswith("warmup_drop:"):
            warmup.labels(account, key.partition(":")[2]).inc(count)
        elif key not in named:
            others.labels(account, key).inc(count)
    state = Gauge(
        "tradeloop_trading_state",
        "1 for the account's current trading state",
        ["account", "state"],
        registry=registry,
    )
    for value in TradingState:
        state.labels(account, value.value).set(1 if gate.state.trading_state is value else 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path
