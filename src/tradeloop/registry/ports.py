"""The registry's record-keeping port (implemented in SQL by the store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable model version as recorded in the registry."""

    model_version_id: str
    name: str
    path: str
    sha256: str
    feature_schema_hash: str
    metrics: dict[str, Any]
    manifest: dict[str, Any]
    ts_created: int


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    """What a promotion decided, for the audit trail."""

    name: str
    model_version_id: str
    alias: str
    decision: str
    previous_version_id: str | None
    gate: dict[str, Any]
    actor: str
    ts_event: int


class ModelRecords(Protocol):
    """Durable records of versions and aliases."""

    def add_version(self, version: ModelVersion) -> None:
        """Record a version; recording the same id again is a no-op."""
        ...

    def get_version(self, model_version_id: str) -> ModelVersion | None:
        """The version with this id, or None."""
        ...

    def point_alias(self, record: PromotionRecord) -> str | None:
        """Audit ``record``; when approved, repoint the alias. Return the previous version."""
        ...

    def resolve_alias(self, name: str, alias: str) -> str | None:
        """The version id an alias points to, or None."""
        ...
