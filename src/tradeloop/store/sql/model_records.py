"""SQL implementation of the registry's ModelRecords port."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from tradeloop.registry.ports import ModelVersion, PromotionRecord
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
                [{"model_version_id": version.model_version_id, "name": version.name,
                  "path": version.path, "sha256": version.sha256,
                  "feature_schema_hash": version.feature_schema_hash,
                  "metrics_json": json.dumps(version.metrics, sort_keys=True),
                  "manifest_json": json.dumps(version.manifest, sort_keys=True, default=str),
                  "ts_created": version.ts_created}],
                ["model_version_id"],
                update=False,
            )  # fmt: skip

    def get_version(self, model_version_id: str) -> ModelVersion | None:
        query = select(model_versions).where(model_versions.c.model_version_id == model_version_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
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

    def point_alias(self, record: PromotionRecord) -> str | None:
        with self._engine.begin() as connection:
            previous = connection.execute(
                select(model_aliases.c.model_version_id)
                .where(model_aliases.c.name == record.name)
                .where(model_aliases.c.alias == record.alias)
            ).scalar_one_or_none()
            connection.execute(
                promotion_audit.insert().values(
                    name=record.name, model_version_id=record.model_version_id,
                    alias=record.alias, decision=record.decision,
                    previous_version_id=previous, gate_json=json.dumps(record.gate),
                    actor=record.actor, ts_event=record.ts_event,
                )
            )  # fmt: skip
            if record.decision == "PROMOTED":
                rows = [{"name": record.name, "alias": record.alias,
                         "model_version_id": record.model_version_id,
                         "ts_updated": record.ts_event}]  # fmt: skip
                upsert(connection, model_aliases, rows, ["name", "alias"])
                if previous and previous != record.model_version_id:
                    prev_rows = [{**rows[0], "alias": f"{record.alias}_prev",
                                  "model_version_id": previous}]  # fmt: skip
                    upsert(connection, model_aliases, prev_rows, ["name", "alias"])
        return previous

    def resolve_alias(self, name: str, alias: str) -> str | None:
        query = (
            select(model_aliases.c.model_version_id)
            .where(model_aliases.c.name == name)
            .where(model_aliases.c.alias == alias)
        )
        with self._engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()
