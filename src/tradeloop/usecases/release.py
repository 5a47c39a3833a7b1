"""`tradeloop release --shadow-id MODEL_ID`: the scalper's release policy as a persisted
state machine (``rollout/release_flow.py``): validations, shadow for a trading day, a
5-10 % canary for hours, 25 % -> 50 % -> 100 % while the canary supervisor watches the
guard rails, thresholds frozen after the ramp, the release recorded in the registry.

Every side effect of a transition is idempotent (an alias pointed again at the same
version, the routing set to absolute values) and happens before the state is saved by
compare-and-set: a ``kill -9`` anywhere, then the same command again, redoes at most the
last transition and waits only what is left of the stage it was in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tradeloop.core.errors import ConfigError, GateRejected
from tradeloop.rollout.config import ReleaseConfig, RolloutConfig
from tradeloop.rollout.mode_gates import Criterion, all_pass
from tradeloop.rollout.release_flow import (
    HOUR_NS,
    TERMINAL,
    Action,
    new_state,
    next_action,
    recorded,
)
from tradeloop.rollout.routing import Routing
from tradeloop.usecases.canary_supervisor import RoutingStore, load_routing, update_routing


class ReleaseRegistry(Protocol):
    def promote(
        self,
        name: str,
        model_version_id: str,
        alias: str,
        *,
        actor: str,
        reason: str = "",
        force: bool = False,
    ) -> Any: ...

    def resolve(self, name: str, alias: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ReleasePorts:
    docs: RoutingStore  # the release documents and the routing document
    rollout: RolloutConfig
    registry: ReleaseRegistry
    validate: Callable[[str], list[Criterion]]
    notify: Callable[[str, str], None]
    echo: Callable[[str], None]
    clock: Callable[[], int] = time.time_ns
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    name: str
    model_id: str
    skip_validations: bool = False
    disable_rollout: bool = False
    poll_s: float = 5.0


def release_doc(model_id: str) -> str:
    return f"release:{model_id}"


def run_release(
    ports: ReleasePorts, config: ReleaseConfig, request: ReleaseRequest
) -> dict[str, Any]:
    """Drive the release to a terminal state (or resume one); the final state."""
    version, state = _load(ports, request)
    last_echo = 0
    while True:
        now = ports.clock()
        routing = load_routing(ports.docs, ports.rollout)[1]
        action = next_action(state, routing, now, config)
        if action.kind == "done":
            return state
        if action.kind == "wait":
            if now - last_echo >= 10 * 10**9:
                last_echo = now
                left = (action.until_ns - now) / HOUR_NS
                ports.echo(
                    f"{state['model_id']}: {action.stage}, {left:.2f} h to go"
                    + (f" ({action.detail})" if action.detail else "")
                )
            ports.sleep(max(0.05, min(request.poll_s, (action.until_ns - now) / 1e9)))
            continue
        state = _step(ports, config, request, state, action, routing, now)
        version = _save(ports, request, state, version, now)


def _load(ports: ReleasePorts, request: ReleaseRequest) -> tuple[int, dict[str, Any]]:
    doc = release_doc(request.model_id)
    got = ports.docs.get(doc)
    if got is not None and got[1].get("outcome") in ("failed", "stopped", "rolled_back"):
        version, last = got
        attempt = int(last.get("attempt", 1)) + 1
        ports.echo(f"the last release of {request.model_id} ended {last['outcome']} in "
                   f"{last['stage']}: starting attempt {attempt}")  # fmt: skip
        state = new_state(request.name, request.model_id, ports.clock(),
                          skip_validations=request.skip_validations,
                          disable_rollout=request.disable_rollout)  # fmt: skip
        keys = ("stage", "outcome", "started_at", "history")
        earlier = [*last.get("earlier_attempts", []), {k: last.get(k) for k in keys}]
        state.update(attempt=attempt, earlier_attempts=earlier)
        return _save(ports, request, state, version, ports.clock()), state
    if got is not None:
        version, state = got
        if state["stage"] == "validate" and request.skip_validations:
            state = {**state, "skip_validations": True}
        ports.echo(
            f"resuming the release of {request.model_id} at {state['stage']}"
            + (f" ({state['outcome']})" if state.get("outcome") else "")
        )
        return version, state
    state = new_state(
        request.name,
        request.model_id,
        ports.clock(),
        skip_validations=request.skip_validations,
        disable_rollout=request.disable_rollout,
    )
    return _save(ports, request, state, 0, ports.clock()), state


def _save(
    ports: ReleasePorts, request: ReleaseRequest, state: dict[str, Any], version: int, now: int
) -> int:
    if not ports.docs.put(release_doc(request.model_id), state, version, now):
        raise ConfigError(
            f"the release of {request.model_id} moved on elsewhere (another `tradeloop release "
            f"--shadow-id {request.model_id}` runs): stop one of them"
        )
    return version + 1


def _step(
    ports: ReleasePorts,
    config: ReleaseConfig,
    request: ReleaseRequest,
    state: dict[str, Any],
    action: Action,
    routing: Routing,
    now: int,
) -> dict[str, Any]:
    if action.kind == "validate":
        return _validate(ports, request, state, now)
    if action.kind == "rolled_back":
        ports.notify(f"release {request.model_id} rolled back", action.detail)
        ports.echo(f"{request.model_id}: rolled back in {action.stage}: {action.detail}")
        return {
            **recorded(
                state, action.stage, int(state["stage_started_ns"]), "rolled_back", action.detail
            ),
            "outcome": "rolled_back",
        }
    if action.kind == "finish":
        return _finish(ports, config, request, state, now)
    try:
        _enter(ports, config, request, action, now)
    except GateRejected as exc:
        ports.notify(f"release {request.model_id} refused by the registry", str(exc))
        return {**recorded(state, state["stage"], now, "failed", str(exc)), "outcome": "failed"}
    ports.echo(
        f"{request.model_id}: {action.stage}"
        + (f" ({action.share:.0%} of signals to the venue)" if action.share else "")
    )
    entered = recorded(state, action.stage, now, "entered", f"share {action.share:g}")
    if action.stage == "canary":
        entered["canary_at"] = now
    return entered


def _validate(
    ports: ReleasePorts, request: ReleaseRequest, state: dict[str, Any], now: int
) -> dict[str, Any]:
    if state.get("skip_validations"):
        criteria: list[Criterion] = []
        ports.echo(f"{request.model_id}: validations skipped (--skip-validations)")
    else:
        criteria = ports.validate(request.model_id)
        for c in criteria:
            ports.echo(f"  {'pass' if c.ok else 'FAIL'}  {c.name}: {c.value} ({c.threshold})")
    state = {**state, "validations": [c.as_dict() for c in criteria]}
    if criteria and not all_pass(criteria):
        failing = ", ".join(c.name for c in criteria if not c.ok)
        ports.notify(f"release {request.model_id} refused", failing)
        return {**recorded(state, "validate", now, "failed", failing), "outcome": "failed"}
    if state.get("disable_rollout"):
        update_routing(
            ports.docs,
            ports.rollout,
            lambda r: r.switched("disabled", now, f"release {request.model_id}: --disable-rollout"),
            now,
        )
        return {
            **recorded(state, "validate", now, "stopped", "validated; rollout disabled"),
            "outcome": "stopped",
        }
    ports.registry.promote(
        request.name, request.model_id, "shadow", actor="release", reason="release: shadow scoring"
    )
    ports.echo(f"{request.model_id}: shadow (scored beside the active model, never trading)")
    return recorded(state, "shadow", now, "entered", "validated" if criteria else "skipped")


def _enter(
    ports: ReleasePorts, config: ReleaseConfig, request: ReleaseRequest, action: Action, now: int
) -> None:
    why = f"release {request.model_id}: {action.stage}"
    if action.stage == "canary":
        ports.registry.promote(
            request.name,
            request.model_id,
            "active",
            actor="release",
            reason=f"release: canary at {action.share:.0%}",
        )

    def route(current: Routing) -> Routing:
        if action.stage == "full":
            return current.switched(
                "full",
                now,
                why,
                canary_fraction=1.0,
                frozen_until_ns=now + int(config.freeze_hours * HOUR_NS),
            )
        if current.mode == "canary":
            return Routing.from_dict(
                {
                    **current.as_dict(),
                    "canary_fraction": action.share,
                    "last_switch": {**current.last_switch, "reason": why},
                }
            )
        return current.switched("canary", now, why, canary_fraction=action.share)

    update_routing(ports.docs, ports.rollout, route, now)


def _finish(
    ports: ReleasePorts,
    config: ReleaseConfig,
    request: ReleaseRequest,
    state: dict[str, Any],
    now: int,
) -> dict[str, Any]:
    summary = {
        "release": request.model_id,
        "stages": [(h["stage"], h["at"]) for h in state["history"]],
        "validations": state.get("validations"),
        "thresholds_frozen_h": config.freeze_hours,
    }
    # the registry keeps the release with the version's metrics, windows and regimes
    ports.registry.promote(
        request.name,
        request.model_id,
        "active",
        actor="release",
        reason=json.dumps(summary, default=str)[:2000],
    )
    ports.notify(
        f"release {request.model_id} done",
        f"100 % on the venue; thresholds frozen {config.freeze_hours:g} h",
    )
    ports.echo(f"{request.model_id}: released (100 %), thresholds frozen {config.freeze_hours:g} h")
    return {**recorded(state, "done", now, "done"), "outcome": "done"}


__all__ = ["TERMINAL", "ReleasePorts", "ReleaseRequest", "release_doc", "run_release"]
