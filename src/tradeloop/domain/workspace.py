"""A research workspace: who may change its jobs and modeling sessions, and how much."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ROLES = ("viewer", "editor", "owner")  # each role may do what the ones before it may
DEFAULT_WORKSPACE = "default"
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
MEMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def role_rank(role: str) -> int:
    return ROLES.index(role)


@dataclass(frozen=True, slots=True)
class Workspace:
    workspace_id: str
    title: str
    created_by: str
    created_at: int
    members: dict[str, str] = field(default_factory=dict)  # member -> role

    @property
    def open(self) -> bool:
        """No members yet: any caller holding the API token may work in it."""
        return not self.members

    def allows(self, actor: str, need: str) -> bool:
        if self.open:
            return True
        role = self.members.get(actor)
        return role is not None and role_rank(role) >= role_rank(need)

    def public(self) -> dict[str, Any]:
        return {"workspace_id": self.workspace_id, "title": self.title,
                "created_by": self.created_by, "created_at": self.created_at,
                "members": [{"member": m, "role": r} for m, r in sorted(self.members.items())],
                "open": self.open}  # fmt: skip
