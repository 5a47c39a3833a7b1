"""The release of a scalper model as a state machine: validate -> shadow -> canary ->
ramp stages -> full -> done, with terminal ``failed`` (a validation), ``rolled_back`` (a
guard rail, during canary or ramp), ``stopped`` (--disable-rollout after validation).

The state is a JSON document saved after every transition; ``stage_started_ns`` is when
the stage was entered, so a restart waits only what is left of it and never skips one.
Pure: ``next_action`` says what to do now; the use case does it and saves the state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tradeloop.rollout.config import ReleaseConfig
from tradeloop.rollout.routing import Routing

HOUR_NS = 3600 * 10**9
TERMINAL = ("done", "failed", "rolled_back", "stopped")


def stages(config: ReleaseConfig) -> list[tuple[str, float]]:
    """(stage, venue share) in order after validation: shadow, canary, the ramp, full."""
    ramp = [(f"ramp-{round(f * 100)}", f) for f in config.ramp if f < 1.0]
    return [("shadow", 0.0), ("canary", config.canary_fraction), *ramp, ("full", 1.0)]


def hours_of(stage: str, config: ReleaseConfig) -> float:
    if stage == "shadow":
        return config.shadow_hours
    if stage == "canary":
        return config.canary_hours
    return config.ramp_hours if stage.startswith("ramp-") else 0.0


def new_state(name: str, model_id: str, now_ns: int, *, skip_validations: bool,
              disable_rollout: bool) -> dict[str, Any]:  # fmt: skip
    return {"name": name, "model_id": model_id, "started_at": now_ns, "stage": "validate",
            "stage_started_ns": now_ns, "outcome": None, "history": [],
            "skip_validations": skip_validations, "disable_rollout": disable_rollout,
            "validations": None}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Action:
    kind: Literal["validate", "enter", "wait", "finish", "rolled_back", "done"]
    stage: str = ""
    share: float = 0.0
    until_ns: int = 0
    detail: str = ""


def next_action(
    state: dict[str, Any], routing: Routing, now_ns: int, config: ReleaseConfig
) -> Action:
    """What the release does next from ``state`` at ``now_ns``."""
    stage = state["stage"]
    if state.get("outcome") in TERMINAL:
        return Action("done", stage)
    if stage == "validate":
        return Action("validate")
    order = stages(config)
    names = [s for s, _ in order]
    if stage in ("canary", *names[2:]) and _rolled_back(routing, state):
        return Action("rolled_back", stage, detail=str(routing.last_switch.get("reason", "")))
    started = int(state["stage_started_ns"])
    until = started + int(hours_of(stage, config) * HOUR_NS)
    if now_ns < until:
        return Action("wait", stage, until_ns=until)
    if stage == "full":
        return Action("finish", stage)
    following, share = order[names.index(stage) + 1]
    if following == "canary" and now_ns < routing.cooldown_until_ns:
        return Action("wait", stage, until_ns=routing.cooldown_until_ns,
                      detail="the last rollback's cooldown")  # fmt: skip
    return Action("enter", following, share=share)


def _rolled_back(routing: Routing, state: dict[str, Any]) -> bool:
    """The routing left the canary after this release set it (a rollback or an operator)."""
    switch = routing.last_switch
    return routing.mode == "disabled" and int(switch.get("at", 0)) >= int(state.get("canary_at", 0))


def recorded(
    state: dict[str, Any], stage: str, now_ns: int, outcome: str, detail: str = ""
) -> dict[str, Any]:
    """``state`` moved to ``stage`` (entered now), its history one entry longer."""
    history = [
        *state["history"],
        {"stage": stage, "at": now_ns, "outcome": outcome, "detail": detail},
    ]
    return {**state, "stage": stage, "stage_started_ns": now_ns, "history": history}
