"""The executor with two lanes: the real venue and the paper simulator, and the routing
between them (``rollout``): each approved signal goes, by a deterministic hash of its id,
to the venue (``route="canary"`` / ``"full"``) or to paper (``route="paper"``).

Both lanes see the whole tape (the simulator fills on it, exits watch it) and every
control event. A ``CRIT`` with the fail-safe on (``fail_safe.switch_to_paper_on_crit``)
sends every signal to paper for ``cooldown_minutes`` (``fail_safe_trigger_total{reason}``,
``mode_switch_total{from,to}`` both ways); a ``MODE_SWITCH`` re-reads the routing document
at once (it is re-read every second anyway). A signal delivered again is answered from
whichever lane's journal holds its order, so a routing change in between never sends it
twice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradeloop.core.bus import Message
from tradeloop.rollout.config import FailSafeConfig, RolloutConfig
from tradeloop.rollout.routing import Routing
from tradeloop.usecases.canary_supervisor import RoutingStore, load_routing, update_routing
from tradeloop.usecases.scalper_executor import ExecutorStage, client_order_id
from tradeloop.usecases.stream_stage import APPROVED, CONTROL, MARKET, drop

log = logging.getLogger(__name__)

VENUE, PAPER = "venue", "paper"


@dataclass(slots=True)
class RoutedExecutor:
    lanes: dict[str, ExecutorStage]  # "paper", and "venue" when a real venue is configured
    store: RoutingStore
    rollout: RolloutConfig
    fail_safe: FailSafeConfig
    clock: Callable[[], int] = time.time_ns
    refresh_ns: int = 1_000_000_000
    name: str = "executor"
    routing: Routing | None = None
    opened: Counter[str] = field(default_factory=Counter)  # trades_opened_total{route}
    since_canary: Counter[str] = field(default_factory=Counter)  # for the realised share
    fail_safe_triggers: Counter[str] = field(default_factory=Counter)
    mode_switches: Counter[tuple[str, str]] = field(default_factory=Counter)
    _read_at: int = -(1 << 62)
    _in_fail_safe: bool = False

    def __post_init__(self) -> None:
        for lane in self.lanes.values():
            lane.crit_halts = not self.fail_safe.switch_to_paper_on_crit

    def topics(self) -> tuple[str, ...]:
        return (CONTROL, MARKET, APPROVED)

    def commit(self) -> list[Message]:
        return [m for lane in self.lanes.values() for m in lane.commit()]

    def handle(self, message: Message) -> list[Message]:
        if message.topic == CONTROL:
            return self._control(message.payload)
        if message.topic == MARKET:
            return [m for lane in self.lanes.values() for m in lane.handle(message)]
        return self._signal(message)

    # -- routing ----------------------------------------------------------------------------

    def current(self, force: bool = False) -> Routing:
        now = self.clock()
        if force or self.routing is None or now - self._read_at >= self.refresh_ns:
            _, routing = load_routing(self.store, self.rollout)
            if self.routing is None or routing.canary_started_ns != self.routing.canary_started_ns:
                self.since_canary.clear()
            self.routing, self._read_at = routing, now
            self._fail_safe_expiry(routing, now)
        return self.routing

    def _fail_safe_expiry(self, routing: Routing, now: int) -> None:
        active = now < routing.fail_safe_until_ns
        if self._in_fail_safe and not active:
            self.mode_switches[("paper", routing.mode)] += 1
            log.warning("fail-safe over: back to rollout mode %s", routing.mode)
        self._in_fail_safe = active

    def _signal(self, message: Message) -> list[Message]:
        signal = message.payload
        if message.redelivered:
            cid = client_order_id(str(signal["signal_id"]))
            for lane in self.lanes.values():
                existing = lane.orders.journal.get(cid)
                if existing is not None:
                    return [lane.order_message(signal, existing, replayed=True)]
            for lane in self.lanes.values():
                stored = lane.decisions.stored(message)
                if stored is not None:
                    return [drop(lane.name, message, str(stored["reason"]))]
        route = self.current().route(str(signal["signal_id"]), self.clock())
        lane = self.lanes[VENUE] if route != PAPER and VENUE in self.lanes else self.lanes[PAPER]
        lane.route = route if lane is self.lanes.get(VENUE) else PAPER
        if lane.tracker is not None:
            lane.tracker.route = lane.route
        sent = lane.sent
        out = lane.on_signal(message)
        if lane.sent > sent:
            self.opened[lane.route] += 1
            self.since_canary[lane.route] += 1
        return out

    def _control(self, event: dict[str, Any]) -> list[Message]:
        for lane in self.lanes.values():
            lane.handle(Message(CONTROL, event, "control"))
        kind = str(event.get("type", "")).upper()
        if kind == "MODE_SWITCH":
            self.current(force=True)
        elif kind == "CRIT" and self.fail_safe.switch_to_paper_on_crit and VENUE in self.lanes:
            self._trip_fail_safe(str(event.get("reason", ""))[:64] or "crit")
        return []

    def _trip_fail_safe(self, reason: str) -> None:
        now = self.clock()
        until = now + int(self.fail_safe.cooldown_minutes * 60e9)
        before = self.current(force=True)

        def hold(current: Routing) -> Routing | None:
            if current.fail_safe_until_ns >= until:
                return None
            return Routing.from_dict({**current.as_dict(), "fail_safe_until_ns": until})

        update_routing(self.store, self.rollout, hold, now)
        self.fail_safe_triggers[reason] += 1
        if not self._in_fail_safe and before.venue_share(now) > 0:
            self.mode_switches[(before.mode, "paper")] += 1
        self.current(force=True)
        log.warning("fail-safe: CRIT (%s): every signal to paper for %g min", reason,
                    self.fail_safe.cooldown_minutes)  # fmt: skip

    # -- figures ----------------------------------------------------------------------------

    def canary_fraction_realized(self) -> float | None:
        live = self.since_canary["canary"] + self.since_canary["paper"]
        return None if not live else self.since_canary["canary"] / live

    def gauges(self) -> dict[str, Any]:
        routing = self.current()
        return {
            "rollout_mode": routing.mode,
            "canary_fraction_target": routing.canary_fraction if routing.mode == "canary" else None,
            "executor_canary_fraction_realized": self.canary_fraction_realized(),
            "fail_safe_active": self._in_fail_safe,
            "fail_safe_trigger_total": dict(self.fail_safe_triggers),
            "mode_switch_total": {f"{a}->{b}": n for (a, b), n in self.mode_switches.items()},
            "trades_opened_total": dict(self.opened),
        }

    # the single-lane executor's view, for the shared counters and metrics

    @property
    def gate(self) -> Any:
        """The gate whose trading state and triggers the status shows (the venue's)."""
        return (self.lanes.get(VENUE) or self.lanes[PAPER]).gate

    @property
    def sent(self) -> int:
        return sum(lane.sent for lane in self.lanes.values())

    @property
    def drops(self) -> Counter[str]:
        return sum((lane.drops for lane in self.lanes.values()), Counter())

    @property
    def warmup_drops(self) -> Counter[str]:
        return sum((lane.warmup_drops for lane in self.lanes.values()), Counter())

    @property
    def backpressure(self) -> Counter[str]:
        return sum((lane.backpressure for lane in self.lanes.values()), Counter())
