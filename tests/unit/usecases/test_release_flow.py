"""The release state machine on a fake clock: every stage in order and waited in full,
a failed validation, --disable-rollout, a rollback during the canary, the cooldown
before a new canary, and a resume after a crash at every stage that skips nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.rollout.config import ReleaseConfig, RolloutConfig
from tradeloop.rollout.mode_gates import Criterion
from tradeloop.testing.fakes import InMemoryRollouts
from tradeloop.usecases.canary_supervisor import load_routing, update_routing
from tradeloop.usecases.release import ReleasePorts, ReleaseRequest, release_doc, run_release

T0 = 1_767_571_200_000_000_000
HOUR = 3600 * 10**9
CONFIG = ReleaseConfig(shadow_hours=24, canary_hours=2, ramp_hours=1, freeze_hours=24)
STAGES = ["shadow", "canary", "ramp-25", "ramp-50", "full", "done"]


class Crash(Exception):
    pass


class World:
    def __init__(self, validations: list[Criterion] | None = None) -> None:
        self.now = T0
        self.docs = InMemoryRollouts()
        self.aliases: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.lines: list[str] = []
        self.validations = validations or [Criterion("parity", "0", "<= 1e-5", True)]
        self.crash_after: int | None = None  # sleeps before a simulated kill -9
        self.on_sleep: Any = None

    def promote(self, name: str, model_version_id: str, alias: str, *, actor: str,
                reason: str = "", force: bool = False) -> None:  # fmt: skip
        self.aliases.append((alias, model_version_id))

    def resolve(self, name: str, alias: str) -> str | None:
        return None

    def sleep(self, seconds: float) -> None:
        if self.crash_after is not None:
            if self.crash_after == 0:
                raise Crash
            self.crash_after -= 1
        self.now += int(seconds * 1e9)
        if self.on_sleep is not None:
            self.on_sleep(self)

    def ports(self) -> ReleasePorts:
        return ReleasePorts(
            self.docs, RolloutConfig(mode="disabled"), self, lambda model_id: self.validations,
            lambda title, text: self.notes.append(title), self.lines.append,
            clock=lambda: self.now, sleep=self.sleep,
        )  # fmt: skip


def _run(world: World, **request: Any) -> dict[str, Any]:
    return run_release(
        world.ports(), CONFIG, ReleaseRequest("scalper", "m2", poll_s=600, **request)
    )


def _entered(state: dict[str, Any]) -> list[tuple[str, float]]:
    return [(h["stage"], (h["at"] - T0) / HOUR) for h in state["history"]]


def test_release_when_all_passes_then_every_stage_in_order_each_waited_in_full() -> None:
    world = World()
    state = _run(world)
    assert state["outcome"] == "done"
    assert _entered(state) == [
        ("shadow", 0.0), ("canary", 24.0), ("ramp-25", 26.0), ("ramp-50", 27.0), ("full", 28.0),
        ("done", 28.0),
    ]  # fmt: skip
    assert world.aliases == [("shadow", "m2"), ("active", "m2"), ("active", "m2")]
    routing = load_routing(world.docs, RolloutConfig())[1]
    assert (routing.mode, routing.canary_fraction) == ("full", 1.0)
    assert routing.frozen_until_ns == T0 + 52 * HOUR  # thresholds frozen 24 h after the ramp
    assert world.notes == ["release m2 done"]
    assert _run(world)["outcome"] == "done"  # a finished release stays finished


def test_release_when_canary_share_set_then_routing_follows_each_stage() -> None:
    world, seen = World(), []

    def watch(w: World) -> None:
        routing = load_routing(w.docs, RolloutConfig(mode="disabled"))[1]
        seen.append((routing.mode, routing.canary_fraction))

    world.on_sleep = watch
    _run(world)
    assert [s for n, s in enumerate(seen) if n == 0 or s != seen[n - 1]] == [
        ("disabled", 0.1), ("canary", 0.1), ("canary", 0.25), ("canary", 0.5)
    ]  # fmt: skip


def test_release_when_a_validation_fails_then_failed_and_nothing_promoted() -> None:
    world = World([Criterion("parity", "0.2", "<= 1e-5", False),
                   Criterion("schema", "x", "equal", True)])  # fmt: skip
    state = _run(world)
    assert state["outcome"] == "failed"
    assert world.aliases == []
    assert world.notes == ["release m2 refused"]
    assert load_routing(world.docs, RolloutConfig(mode="disabled"))[0] == 0  # untouched


def test_release_when_disable_rollout_then_validated_and_routing_disabled() -> None:
    world = World()
    update_routing(world.docs, RolloutConfig(), lambda r: r.switched("full", T0, "x"), T0)
    state = _run(world, disable_rollout=True)
    assert state["outcome"] == "stopped"
    assert world.aliases == []
    assert load_routing(world.docs, RolloutConfig())[1].mode == "disabled"


def test_release_when_supervisor_rolls_back_in_canary_then_rolled_back() -> None:
    world = World()

    def rollback_in_canary(w: World) -> None:
        routing = load_routing(w.docs, RolloutConfig())[1]
        if routing.mode == "canary" and w.now >= T0 + 25 * HOUR:
            update_routing(w.docs, RolloutConfig(), lambda r: r.switched(
                "disabled", w.now, "rollback: canary win rate 40% < 55% - 5 pp",
                cooldown_until_ns=w.now + HOUR // 4), w.now)  # fmt: skip

    world.on_sleep = rollback_in_canary
    state = _run(world)
    assert state["outcome"] == "rolled_back"
    assert state["history"][-1]["stage"] == "canary"
    assert "win rate" in state["history"][-1]["detail"]
    assert world.notes == ["release m2 rolled back"]


def test_release_when_cooldown_holds_then_canary_waits_for_it() -> None:
    world = World()
    cooldown = T0 + 30 * HOUR
    update_routing(world.docs, RolloutConfig(), lambda r: r.switched(
        "disabled", T0, "rollback: parity", cooldown_until_ns=cooldown), T0)  # fmt: skip
    state = _run(world)
    assert dict(_entered(state))["canary"] == 30.0


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3, 5, 8, 30, 50])
def test_release_when_killed_anywhere_then_resumes_and_skips_no_wait(crash_after: int) -> None:
    world = World()
    world.crash_after = crash_after
    with pytest.raises(Crash):
        _run(world)
    stage_then = world.docs.get(release_doc("m2"))[1]["stage"]  # type: ignore[index]
    world.now += HOUR // 2  # the machine was down half an hour
    world.crash_after = None
    state = _run(world)
    assert any("resuming the release of m2 at " + stage_then in line for line in world.lines)
    assert state["outcome"] == "done"
    stages = [h["stage"] for h in state["history"]]
    assert stages == STAGES
    at = dict(_entered(state))
    assert at["canary"] - at["shadow"] >= 24
    assert at["ramp-25"] - at["canary"] >= 2
    assert at["ramp-50"] - at["ramp-25"] >= 1


def test_release_when_rerun_after_a_failure_then_a_new_attempt_keeps_the_old_one() -> None:
    world = World([Criterion("parity", "0.2", "<= 1e-5", False)])
    assert _run(world)["outcome"] == "failed"
    world.validations = [Criterion("parity", "0", "<= 1e-5", True)]
    world.now += HOUR
    state = _run(world)
    assert state["outcome"] == "done"
    assert state["attempt"] == 2
    assert [a["outcome"] for a in state["earlier_attempts"]] == ["failed"]
    assert any("starting attempt 2" in line for line in world.lines)
