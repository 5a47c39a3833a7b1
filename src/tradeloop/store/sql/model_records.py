"""SQL implementation of the registry's ModelRecords port."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, text

from tradeloop.registry.ports import AliasMove, ModelVersion, PromotionRecord
from tradeloop.store.sql.tables import model_aliases, model_versions, promotion_audit
from tradeloop.store.sql.upsert import upsert


class SqlModelRecords:
    """Versions, aliases and the promotion audit in one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_version(self, version: ModelVersion) -> None:
        with self._engine.begin() as connection:
            upsert(
                connection,
                model_versions,
                [
                    {
                        "model_version_id": version.model_version_id,
                        "name": version.name,
                        "path": version.path,
                        "sha256": version.sha256,
                        "feature_schema_hash": version.feature_schema_hash,
                        "metrics_json": json.dumps(version.metrics, sort_keys=True),
                        "manifest_json": json.dumps(version.manifest, sort_keys=True, default=str),
                        "ts_created": version.ts_created,
                    }
                ],
                ["model_version_id"],
                update=False,
            )

    def get_version(self, model_version_id: str) -> ModelVersion | None:
        query = select(model_versions).where(model_versions.c.model_version_id == model_version_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else _version(row)

    def names(self) -> list[str]:
        query = select(model_versions.c.name).distinct().order_by(model_versions.c.name)
        with self._engine.connect() as connection:
            return [str(name) for (name,) in connection.execute(query)]

    def list_versions(self, name: str) -> list[ModelVersion]:
        query = (
            select(model_versions)
            .where(model_versions.c.name == name)
            .order_by(model_versions.c.ts_created, model_versions.c.model_version_id)
        )
        with self._engine.connect() as connection:
            return [_version(row) for row in connection.execute(query).mappings()]

    def aliases(self, name: str) -> dict[str, str]:
        query = select(model_aliases.c.alias, model_aliases.c.model_version_id).where(
            model_aliases.c.name == name
        )
        with self._engine.connect() as connection:
            return {row.alias: row.model_version_id for row in connection.execute(query)}

    def move_aliases(self, name: str, decide: Callable[[dict[str, str]], AliasMove]) -> AliasMove:
        with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # One mover per model name across every host sharing the database.
                key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            current = {
                row.alias: row.model_version_id
                for row in connection.execute(
                    select(model_aliases.c.alias, model_aliases.c.model_version_id).where(
                        model_aliases.c.name == name
                    )
                )
            }
            move = decide(current)
            record = move.record
            connection.execute(
                promotion_audit.insert().values(
                    name=record.name,
                    model_version_id=record.model_version_id,
                    alias=record.alias,
                    decision=record.decision,
                    previous_version_id=record.previous_version_id,
                    gate_json=json.dumps(record.gate, sort_keys=True, default=str),
                    actor=record.actor,
                    ts_event=record.ts_event,
                )
            )
            if move.applied:
                rows = [
                    {
                        "name": name,
                        "alias": alias,
                        "model_version_id": version_id,
                        "ts_updated": record.ts_event,
                    }
                    for alias, version_id in sorted(move.updates.items())
                ]
                upsert(connection, model_aliases, rows, ["name", "alias"])
        return move

    def history(self, name: str, limit: int = 50) -> list[PromotionRecord]:
        query = (
            select(promotion_audit)
            .where(promotion_audit.c.name == name)
            .order_by(promotion_audit.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [
                PromotionRecord(
                    name=row["name"],
                    model_version_id=row["model_version_id"],
                    alias=row["alias"],
                    decision=row["decision"],
                    previous_version_id=row["previous_version_id"],
                    gate=json.loads(row["gate_json"]),
                    actor=row["actor"],
                    ts_event=row["ts_event"],
                )
                for row in connection.execute(query).mappings()
            ]

    def resolve_alias(self, name: str, alias: str) -> str | None:
        query = (
            select(model_aliases.c.model_version_id)
            .where(model_aliases.c.name == name)
            .where(model_aliases.c.alias == alias)
        )
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()


def _version(row: Any) -> ModelVersion:
    return ModelVersion(
        model_version_id=row["model_version_id"],
        name=row["name"],
        path=row["path"],
        sha256=row["sha256"],
        feature_schema_hash=row["feature_schema_hash"],
        metrics=json.loads(row["metrics_json"]),
        manifest=json.loads(row["manifest_json"]),
        ts_created=row["ts_created"],
    )
