"""A research job as stored and shown: what was asked, where it is, how far it got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FINISHED = ("done", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    experiment: str
    dataset_id: str | None
    state: str
    cancel_requested: bool
    points_total: int
    points_done: int
    error: str | None
    actor: str
    submitted_at: int
    updated_at: int
    finished_at: int | None
    workspace_id: str = "default"

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}
