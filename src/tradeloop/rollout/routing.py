"""Where an approved scalper signal is executed: the real venue (``canary`` / ``full``)
or the paper simulator (``paper``), by a deterministic hash of the signal id, and the
routing document the executor, the canary supervisor and the release flow share."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

RolloutMode = Literal["disabled", "canary", "full"]
Route = Literal["paper", "canary", "full"]
ROUTING_DOC = "scalper-routing"


def canary_hash(signal_id: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the signal id and the seed (every replica and
    every restart routes a signal the same way)."""
    digest = hashlib.blake2b(f"{seed}:{signal_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, slots=True)
class Routing:
    mode: RolloutMode
    canary_fraction: float
    rng_seed: int
    cooldown_until_ns: int = 0  # no new canary before (after a rollback)
    fail_safe_until_ns: int = 0  # every signal to paper before (a CRIT control event)
    frozen_until_ns: int = 0  # tau_entry / tau_hold frozen before (after a ramp)
    canary_started_ns: int = 0
    last_switch: dict[str, Any] = field(default_factory=dict)  # from, to, reason, at

    def route(self, signal_id: str, now_ns: int) -> Route:
        if now_ns < self.fail_safe_until_ns or self.mode == "disabled":
            return "paper"
        if self.mode == "full":
            return "full"
        return "canary" if canary_hash(signal_id, self.rng_seed) < self.canary_fraction else "paper"

    def venue_share(self, now_ns: int) -> float:
        """The share of signals meant for the real venue now."""
        if now_ns < self.fail_safe_until_ns or self.mode == "disabled":
            return 0.0
        return 1.0 if self.mode == "full" else self.canary_fraction

    def switched(self, mode: RolloutMode, now_ns: int, reason: str, **changes: Any) -> Routing:
        started = now_ns if mode == "canary" and self.mode != "canary" else self.canary_started_ns
        switch = {"from": self.mode, "to": mode, "reason": reason, "at": now_ns}
        return replace(self, mode=mode, canary_started_ns=started, last_switch=switch, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Routing:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
