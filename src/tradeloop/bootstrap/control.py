"""The operator's narrow wiring: the kill switch, the audit trail and a reading view of
the model registry, built from the settings alone.

``halt``, ``resume`` and ``models list`` / ``show`` use it instead of ``build_app``: they
read no config file (a broken ``tradeloop.yaml`` never stands between an operator and a
halt) and load none of the application's layers, so they answer in about half a second.
Promotions need the configured gates and go through ``App.registry()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine

from tradeloop.bootstrap.database import open_database
from tradeloop.registry.ports import ModelVersion, PromotionRecord
from tradeloop.risk.kill_switch import KillSwitch
from tradeloop.settings import Settings
from tradeloop.store.sql.audit import SqlAuditTrail


class RegistryView(Protocol):
    """What the registry views read: families, versions, aliases, manifests, history."""

    def names(self) -> list[str]: ...

    def versions(self, name: str) -> list[ModelVersion]: ...

    def aliases(self, name: str) -> dict[str, str]: ...

    def find(self, ref: str, name: str | None = None) -> ModelVersion: ...

    def load(self, model_version_id: str) -> tuple[dict[str, bytes], dict[str, Any]]: ...

    def history(self, name: str, limit: int = 50) -> list[PromotionRecord]: ...


@dataclass(frozen=True, slots=True)
class ControlPlane:
    settings: Settings
    engine: Engine

    def kill_switch(self) -> KillSwitch:
        """The operator's kill switch (``var/KILL_SWITCH``)."""
        return KillSwitch(self.settings.kill_switch_path)

    def audit_trail(self) -> SqlAuditTrail:
        return SqlAuditTrail(self.engine)

    def registry_view(self) -> RegistryView:
        """The registry to read (no gate is consulted to list or show a version)."""
        from tradeloop.registry.registry import ModelRegistry  # halt needs none of it
        from tradeloop.store.sql.model_records import SqlModelRecords

        return ModelRegistry(self.settings.models_dir, SqlModelRecords(self.engine))


def open_control(settings: Settings, read_only: bool = False) -> ControlPlane:
    """The control plane on the configured database (migrated first unless ``read_only``,
    as ``build_app`` does; the runtime folders are made by what writes into them)."""
    return ControlPlane(settings=settings, engine=open_database(settings, read_only=read_only))
