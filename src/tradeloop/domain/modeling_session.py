"""A Model Studio session as stored and shown: its steps, committed in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STEPS = ("dataset", "gold", "signal", "eval", "experiment", "review", "promotion")


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    name: str
    state: str  # open | promoted
    actor: str
    created_at: int
    updated_at: int
    steps: dict[str, dict[str, Any]]
    workspace_id: str = "default"

    @property
    def next_step(self) -> str | None:
        return next((s for s in STEPS if s not in self.steps), None)

    def public(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "name": self.name, "state": self.state,
                "actor": self.actor, "created_at": self.created_at,
                "updated_at": self.updated_at, "steps": self.steps,
                "workspace_id": self.workspace_id,
                "next_step": self.next_step}  # fmt: skip
