"""The registry's record-keeping port (implemented in SQL by the store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable model version as recorded in the registry."""

    model_version_id: str
    name: str
    path: str  # the version folder; recorded relative to the registry root
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


APPLIED_DECISIONS = frozenset({"PROMOTED", "FORCED", "ROLLBACK"})


@dataclass(frozen=True, slots=True)
class AliasMove:
    """An audited decision and, when it is applied, the aliases it repoints."""

    record: PromotionRecord
    updates: dict[str, str]

    @property
    def applied(self) -> bool:
        return self.record.decision in APPLIED_DECISIONS


class ModelRecords(Protocol):
    """Durable records of versions and aliases."""

    def add_version(self, version: ModelVersion) -> None:
        """Record a version; recording the same id again is a no-op."""
        ...

    def get_version(self, model_version_id: str) -> ModelVersion | None:
        """The version with this id, or None."""
        ...

    def names(self) -> list[str]:
        """Every model name (family) with a registered version, sorted."""
        ...

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        ...

    def aliases(self, name: str) -> dict[str, str]:
        """Alias -> version id for a model."""
        ...

    def move_aliases(self, name: str, decide: Callable[[dict[str, str]], AliasMove]) -> AliasMove:
        """Serialize with every other move of ``name``: read its aliases, let ``decide`` judge
        them, append the audit record and, when approved, apply the updates, all in one
        transaction."""
        ...

    def resolve_alias(self, name: str, alias: str) -> str | None:
        """The version id an alias points to, or None."""
        ...

    def history(self, name: str, limit: int = 50) -> list[PromotionRecord]:
        """The latest promotion records of a model, newest first."""
        ...
