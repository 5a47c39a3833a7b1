"""The canary's supervisor (in the risk service): it watches the guard rails and, when
any says so, rolls the canary back exactly once.

A rollback: the routing document goes to ``disabled`` with a cooldown (compare-and-set,
so of several replicas one does it), the registry's active scalper model goes back to
the previous one, a ``MODE_SWITCH{from,to}`` control event goes out, ``mode_switch_total``
and ``rollback_total{reason}`` count it, and the operators are notified. The routing
document is the truth: an executor that missed the event reads it within a second.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tradeloop.core.bus import Message
from tradeloop.rollout.canary_guard import CanaryGuard, Trigger
from tradeloop.rollout.config import RolloutConfig
from tradeloop.rollout.routing import ROUTING_DOC, Routing
from tradeloop.usecases.stream_stage import CONTROL, derived_id

log = logging.getLogger(__name__)


class RoutingStore(Protocol):
    def get(self, name: str) -> tuple[int, dict[str, Any]] | None: ...

    def put(self, name: str, state: dict[str, Any], version: int, now_ns: int) -> bool: ...


def load_routing(store: RoutingStore, config: RolloutConfig) -> tuple[int, Routing]:
    """The stored routing, or the configured one before anything was stored."""
    got = store.get(ROUTING_DOC)
    if got is None:
        return 0, Routing(config.mode, config.canary_fraction, config.rng_seed)
    return got[0], Routing.from_dict(got[1])


def update_routing(
    store: RoutingStore, config: RolloutConfig, change: Callable[[Routing], Routing | None],
    now_ns: int,
) -> Routing | None:  # fmt: skip
    """Apply ``change`` to the stored routing by compare-and-set; None when ``change``
    declined (it returned None) on the routing as stored."""
    for _ in range(20):
        version, current = load_routing(store, config)
        new = change(current)
        if new is None:
            return None
        if store.put(ROUTING_DOC, new.as_dict(), version, now_ns):
            return new
    raise RuntimeError("routing document: 20 concurrent writers in a row; try again")


def mode_switch_event(routing: Routing, now_ns: int) -> Message:
    switch = routing.last_switch
    payload = {"type": "MODE_SWITCH", **switch}
    return Message(CONTROL, payload, derived_id("mode-switch", f"{switch.get('to')}-{now_ns}"))


@dataclass(slots=True)
class CanarySupervisor:
    guard: CanaryGuard
    store: RoutingStore
    rollout: RolloutConfig
    rollback_model: Callable[[str], str]  # reason -> what it did to the registry
    notify: Callable[[str, str], None]
    routing: Routing | None = None
    refresh_ns: int = 1_000_000_000
    mode_switches: Counter[tuple[str, str]] = field(default_factory=Counter)
    rollbacks: Counter[str] = field(default_factory=Counter)
    _read_at: int = -(1 << 62)

    def refresh(self, now_ns: int) -> Routing:
        if self.routing is None or now_ns - self._read_at >= self.refresh_ns:
            _, routing = load_routing(self.store, self.rollout)
            if self.routing is None or routing.canary_started_ns != self.routing.canary_started_ns:
                self.guard.reset()  # a new canary: its figures count from now
            self.routing, self._read_at = routing, now_ns
        return self.routing

    def on_trade(self, route: str, pnl: float) -> None:
        self.guard.on_trade(route, pnl)

    def on_scored(self, now_ns: int, features: Mapping[str, float]) -> None:
        """A scorer input, on the wall clock (the windows' clock and the canary's start)."""
        self.guard.on_inputs(now_ns, features)

    def on_control(self, event: Mapping[str, Any], now_ns: int) -> None:
        if str(event.get("type", "")).upper() == "PARITY_FAIL":
            self.guard.on_parity_failure(now_ns)

    def check(self, now_ns: int) -> list[Message]:
        """The rollback's control event when a guard rail says so (once per canary)."""
        routing = self.refresh(now_ns)
        if routing.mode != "canary":
            return []
        self.guard.update_drift(routing.canary_started_ns, now_ns)
        triggers = self.guard.triggers(now_ns)
        return self._rollback(triggers, now_ns) if triggers else []

    def _rollback(self, triggers: list[Trigger], now_ns: int) -> list[Message]:
        reason = "; ".join(t.detail for t in triggers)
        cooldown = int(self.guard.config.cooldown_minutes * 60e9)

        def disable(current: Routing) -> Routing | None:
            if current.mode != "canary":
                return None  # rolled back already (another replica, or an operator)
            return current.switched("disabled", now_ns, f"rollback: {reason}",
                                    cooldown_until_ns=now_ns + cooldown)  # fmt: skip

        routing = update_routing(self.store, self.rollout, disable, now_ns)
        if routing is None:
            self.routing = None
            return []
        self.routing, self._read_at = routing, now_ns
        model = self.rollback_model(reason)
        self.mode_switches[("canary", "disabled")] += 1
        for trigger in {t.code for t in triggers}:
            self.rollbacks[trigger] += 1
        log.warning("canary rolled back: %s; %s", reason, model)
        self.notify("canary rolled back", f"{reason}. Registry: {model}. Routing: disabled, "
                    f"no new canary for {self.guard.config.cooldown_minutes:g} min.")  # fmt: skip
        return [mode_switch_event(routing, now_ns)]

    def gauges(self) -> dict[str, Any]:
        guard = self.guard
        return {
            "winrate_canary": guard.winrate_canary,
            "winrate_baseline_active": guard.winrate_baseline,
            "sample_canary": guard.sample_canary,
            "psi_feature": {f: p for f, (p, _) in guard.drift.items() if p is not None},
            "ks_feature": {f: k for f, (_, k) in guard.drift.items() if k is not None},
            "mode_switch_total": {f"{a}->{b}": n for (a, b), n in self.mode_switches.items()},
            "rollback_total": dict(self.rollbacks),
            "rollout_mode": None if self.routing is None else self.routing.mode,
        }
