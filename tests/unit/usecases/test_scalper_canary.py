"""The scalper's canary on a fake clock: deterministic routing between the venue and
paper lanes, a redelivered signal answered from whichever lane holds its order, the
fail-safe's CRIT -> paper and back, and the guard rails each rolling back exactly once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.core.bus import Message
from tradeloop.execution.journal import InMemoryOrderJournal
from tradeloop.execution.order_manager import OrderManager
from tradeloop.execution.tick_paper_venue import TickPaperVenue
from tradeloop.features.tick_book import CANDIDATE_FEATURES
from tradeloop.risk.config import RiskConfig
from tradeloop.risk.gate import RiskGate
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.rollout.canary_guard import CanaryGuard
from tradeloop.rollout.config import FailSafeConfig, RolloutConfig, RolloutGuardConfig
from tradeloop.rollout.routing import Routing, canary_hash
from tradeloop.testing.fakes import InMemoryDecisionLog, InMemoryRollouts
from tradeloop.usecases.canary_supervisor import CanarySupervisor, load_routing, update_routing
from tradeloop.usecases.scalper_config import ExecutorStageConfig, ScalperConfig
from tradeloop.usecases.scalper_executor import ExecutorStage, client_order_id
from tradeloop.usecases.scalper_routing import PAPER, VENUE, RoutedExecutor
from tradeloop.usecases.stream_stage import APPROVED, CONTROL, ORDERS, Decisions

T0 = 1_767_571_200_000_000_000
S, MINUTE = 10**9, 60 * 10**9
RISK = {"margin_leverage": 10.0, "notional_cap_usd": 20_000.0, "max_gross_leverage": 10.0,
        "max_position_size": 10.0, "max_portfolio_heat": 10.0, "loss_streak_max": None,
        "daily_loss_limit": None}  # fmt: skip


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _lane(tmp_path: Path, name: str, log: InMemoryDecisionLog) -> ExecutorStage:
    venue = TickPaperVenue(Decimal(1_000_000))
    orders = OrderManager(InMemoryOrderJournal(), venue, lambda: T0)
    gate = RiskGate(RiskConfig(**RISK), KillSwitch(tmp_path / "KILL_SWITCH"))
    config = ExecutorStageConfig(warmup={"enabled": False})
    return ExecutorStage(
        config, ScalperConfig().instruments, orders, gate, venue,
        Decisions(log, "executor", lambda: T0), backlog=lambda: 0, route=name, tape=venue,
    )  # fmt: skip


def _executor(tmp_path: Path, mode: str, fraction: float = 0.3) -> tuple[RoutedExecutor, Clock]:
    log, clock = InMemoryDecisionLog(), Clock(T0)
    lanes = {PAPER: _lane(tmp_path, PAPER, log), VENUE: _lane(tmp_path, "real", log)}
    rollout = RolloutConfig(mode=mode, canary_fraction=fraction, rng_seed=7)  # type: ignore[arg-type]
    routed = RoutedExecutor(lanes, InMemoryRollouts(), rollout, FailSafeConfig(), clock=clock)
    book = {"kind": "book", "symbol": "BTCUSDT", "ts": T0, "bids": [[60_000.0, 50.0]],
            "asks": [[60_000.1, 50.0]]}  # fmt: skip
    routed.handle(Message("md", book, "b0"))
    return routed, clock


def _signal(n: int, redelivered: bool = False) -> Message:
    payload = {"signal_id": f"sig{n:05d}", "symbol": "BTCUSDT", "ts": T0, "side": "buy",
               "score": 0.8, "bids": [[60_000.0, 50.0]], "asks": [[60_000.1, 50.0]],
               "wall_ns": None}  # fmt: skip
    return Message(APPROVED, payload, f"ap{n}", redelivered)


def _route(routed: RoutedExecutor, n: int, redelivered: bool = False) -> str:
    [out] = routed.handle(_signal(n, redelivered)) + routed.commit()
    assert out.topic == ORDERS, out.payload
    # every position is flat again for the next signal: one position per symbol per lane
    for lane in routed.lanes.values():
        lane.exits = None
    return str(out.payload["route"])


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=30), st.integers(0, 2**31))
def test_canary_hash_when_asked_twice_then_same_number_in_unit_interval(
    text: str, seed: int
) -> None:
    first = canary_hash(text, seed)
    assert first == canary_hash(text, seed)
    assert 0 <= first < 1


def test_routing_when_canary_then_share_near_fraction_and_each_signal_fixed() -> None:
    routing = Routing("canary", 0.10, 1337)
    routes = [routing.route(f"sig{n}", T0) for n in range(20_000)]
    share = routes.count("canary") / len(routes)
    assert abs(share - 0.10) < 0.01
    assert routes == [routing.route(f"sig{n}", T0) for n in range(20_000)]
    assert {Routing("disabled", 0.1, 1).route("x", T0), Routing("full", 0.1, 1).route("x", T0)} == {
        "paper", "full"
    }  # fmt: skip
    held = Routing("full", 0.1, 1, fail_safe_until_ns=T0 + 1)
    assert (held.route("x", T0), held.route("x", T0 + 1)) == ("paper", "full")


def test_routed_executor_when_canary_then_venue_lane_gets_hashed_share(tmp_path: Path) -> None:
    routed, _ = _executor(tmp_path, "canary", fraction=0.3)
    routes = [_route(routed, n) for n in range(200)]
    expected = ["canary" if canary_hash(f"sig{n:05d}", 7) < 0.3 else "paper" for n in range(200)]
    assert routes == expected
    for n, route in enumerate(routes):
        cid = client_order_id(f"sig{n:05d}")
        in_venue = routed.lanes[VENUE].orders.journal.get(cid) is not None
        in_paper = routed.lanes[PAPER].orders.journal.get(cid) is not None
        assert (in_venue, in_paper) == (route == "canary", route == "paper")
    assert routed.opened["canary"] == routes.count("canary")
    assert routed.canary_fraction_realized() == pytest.approx(routes.count("canary") / 200)


def test_routed_executor_when_redelivered_after_switch_then_answered_from_its_lane(
    tmp_path: Path,
) -> None:
    routed, clock = _executor(tmp_path, "full")
    assert _route(routed, 1) == "full"
    store = routed.store
    update_routing(
        store, routed.rollout, lambda r: r.switched("disabled", clock.now, "test"), clock.now
    )
    routed.handle(Message(CONTROL, {"type": "MODE_SWITCH", "from": "full", "to": "disabled"}, "m"))
    [again] = routed.handle(_signal(1, redelivered=True))
    assert again.payload["replayed"] is True
    assert again.payload["route"] == "full"  # its order sits in the venue lane's journal
    assert routed.lanes[PAPER].orders.journal.get(client_order_id("sig00001")) is None
    assert _route(routed, 2) == "paper"


def test_fail_safe_when_crit_then_paper_for_cooldown_then_back(tmp_path: Path) -> None:
    routed, clock = _executor(tmp_path, "full")
    routed.handle(Message(CONTROL, {"type": "CRIT", "reason": "venue_errors"}, "c1"))
    assert _route(routed, 1) == "paper"
    assert routed.lanes[VENUE].gate.state.trading_state.value == "ACTIVE"  # not halted
    assert routed.fail_safe_triggers == {"venue_errors": 1}
    assert routed.mode_switches == {("full", "paper"): 1}
    clock.now += 14 * MINUTE
    assert _route(routed, 2) == "paper"
    clock.now += 2 * MINUTE  # the 15 minute cooldown is over
    assert _route(routed, 3) == "full"
    assert routed.mode_switches == {("full", "paper"): 1, ("paper", "full"): 1}
    stored = load_routing(routed.store, routed.rollout)[1]
    assert stored.fail_safe_until_ns == T0 + 15 * MINUTE


def test_fail_safe_when_off_then_crit_halts_instead(tmp_path: Path) -> None:
    routed, _ = _executor(tmp_path, "full")
    for lane in routed.lanes.values():
        lane.crit_halts = True
    routed.fail_safe = FailSafeConfig(switch_to_paper_on_crit=False)
    routed.handle(Message(CONTROL, {"type": "CRIT", "reason": "x"}, "c1"))
    [out] = routed.handle(_signal(1)) + routed.commit()
    assert out.payload["reason"].startswith("HALTED")


class Registry:
    def __init__(self) -> None:
        self.rollbacks: list[str] = []

    def __call__(self, reason: str) -> str:
        self.rollbacks.append(reason)
        return "scalper active v2 -> v1"


def _supervisor(
    store: InMemoryRollouts, **guard: Any
) -> tuple[CanarySupervisor, Registry, list[str]]:
    registry, notes = Registry(), []
    config = RolloutGuardConfig(**guard)
    supervisor = CanarySupervisor(
        CanaryGuard(config, CANDIDATE_FEATURES), store, RolloutConfig(mode="canary"), registry,
        lambda title, text: notes.append(title),
    )  # fmt: skip
    return supervisor, registry, notes


def _start_canary(store: InMemoryRollouts, now: int) -> None:
    update_routing(store, RolloutConfig(), lambda r: r.switched("canary", now, "release"), now)


def _features(rng: np.random.Generator, shift: float = 0.0) -> dict[str, float]:
    return {name: float(rng.normal(shift, 1.0)) for name in CANDIDATE_FEATURES}


GUARDS = {
    "winrate": {"min_sample": 20},
    "parity": {"min_sample": 20},
    "psi": {"min_sample": 20, "ks_block": 1.0},  # each rail alone
    "ks": {"min_sample": 20, "psi_block": 100.0},
}


@pytest.mark.parametrize("trigger", list(GUARDS))
def test_supervisor_when_a_guard_rail_trips_then_one_rollback_with_side_effects(
    trigger: str,
) -> None:
    store, now, rng = InMemoryRollouts(), T0, np.random.default_rng(3)
    first, registry, notes = _supervisor(store, **GUARDS[trigger])
    replica, replica_registry, _ = _supervisor(store, **GUARDS[trigger])
    for k in range(600):  # the hour before the canary: the drift reference
        first.on_scored(now - 50 * MINUTE + k * 5 * S, _features(rng))
    _start_canary(store, now)
    assert first.check(now) == []
    replica.check(now)
    for k in range(40):
        first.on_trade("paper", 1.0 if k % 2 else -1.0)  # baseline 50 %
        first.on_trade("canary", 1.0 if k % 2 else -1.0)
    for k in range(400):
        first.on_scored(now + k * 100_000_000, _features(rng))
    assert first.check(now + MINUTE) == []  # healthy canary: nothing happens
    if trigger == "winrate":
        for _ in range(20):
            first.on_trade("canary", -1.0)  # 20 / 60 = 33 % < 50 % - 5 pp
    elif trigger == "parity":
        first.on_control({"type": "PARITY_FAIL", "gap": 0.2}, now + MINUTE)
    else:
        for k in range(800):
            first.on_scored(now + MINUTE + k * 100_000_000, _features(rng, shift=1.0))
    now += 2 * MINUTE
    [event] = first.check(now)
    assert event.topic == CONTROL
    assert (event.payload["type"], event.payload["from"], event.payload["to"]) == (
        "MODE_SWITCH", "canary", "disabled"
    )  # fmt: skip
    assert first.rollbacks == {trigger: 1}
    assert first.mode_switches == {("canary", "disabled"): 1}
    assert len(registry.rollbacks) == 1
    assert notes == ["canary rolled back"]
    routing = load_routing(store, RolloutConfig())[1]
    assert routing.mode == "disabled"
    assert routing.cooldown_until_ns == now + 15 * MINUTE
    # exactly once: the same supervisor, and a replica seeing the same figures, do nothing
    if trigger == "parity":
        replica.on_control({"type": "PARITY_FAIL"}, now)
    assert first.check(now + S) == []
    assert replica.check(now + 2 * S) == []
    assert replica_registry.rollbacks == []


def test_supervisor_when_parity_failure_older_than_window_then_no_rollback() -> None:
    store = InMemoryRollouts()
    supervisor, registry, _ = _supervisor(store)
    _start_canary(store, T0)
    supervisor.check(T0)
    supervisor.on_control({"type": "PARITY_FAIL"}, T0)
    assert supervisor.check(T0 + 11 * MINUTE) == []
    assert registry.rollbacks == []


def test_supervisor_when_fewer_than_min_sample_then_win_rate_ignored() -> None:
    store = InMemoryRollouts()
    supervisor, _, _ = _supervisor(store, min_sample=50)
    _start_canary(store, T0)
    supervisor.check(T0)
    for _ in range(49):
        supervisor.on_trade("paper", 1.0)
        supervisor.on_trade("canary", -1.0)
    assert supervisor.check(T0 + S) == []
    supervisor.on_trade("canary", -1.0)
    assert len(supervisor.check(T0 + 2 * S)) == 1
