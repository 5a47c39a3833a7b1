"""Research jobs in SQL: ``experiment_job`` (state, progress), ``job_event`` (the
progress stream), ``job_artifact`` (what a job made)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Engine, select, update

from tradeloop.domain.research_job import FINISHED, Job
from tradeloop.store.sql.tables import experiment_job, job_artifact, job_event
from tradeloop.store.sql.transaction import transaction


def _job(row: Any) -> Job:
    return Job(**{k: row._mapping[k] for k in Job.__slots__})


class SqlJobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, job: Job) -> None:
        with transaction(self.engine) as connection:
            connection.execute(experiment_job.insert().values(**job.public()))

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(experiment_job).where(experiment_job.c.job_id == job_id)
            ).first()
        return _job(row) if row is not None else None

    def recent(self, limit: int = 100, workspace_id: str | None = None) -> list[Job]:
        query = select(experiment_job).order_by(experiment_job.c.submitted_at.desc()).limit(limit)
        if workspace_id is not None:
            query = query.where(experiment_job.c.workspace_id == workspace_id)
        with self.engine.connect() as connection:
            return [_job(row) for row in connection.execute(query)]

    def update(self, job_id: str, now: int, **fields: Any) -> None:
        with transaction(self.engine) as connection:
            connection.execute(
                update(experiment_job)
                .where(experiment_job.c.job_id == job_id)
                .values(updated_at=now, **fields)
            )

    def request_cancel(self, job_id: str, now: int) -> Job | None:
        """Mark the job to be cancelled (only while it is queued or running)."""
        with transaction(self.engine) as connection:
            connection.execute(
                update(experiment_job)
                .where(experiment_job.c.job_id == job_id)
                .where(experiment_job.c.state.not_in(FINISHED))
                .values(cancel_requested=True, updated_at=now)
            )
        return self.get(job_id)

    def add_event(self, job_id: str, kind: str, payload: dict[str, Any], now: int) -> None:
        with transaction(self.engine) as connection:
            connection.execute(
                job_event.insert().values(
                    job_id=job_id, kind=kind, payload_json=json.dumps(payload), ts_event=now
                )
            )

    def events(self, job_id: str, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        query = (
            select(job_event.c.id, job_event.c.kind, job_event.c.payload_json)
            .where(job_event.c.job_id == job_id, job_event.c.id > after)
            .order_by(job_event.c.id)
        )
        with self.engine.connect() as connection:
            return [(r.id, r.kind, json.loads(r.payload_json)) for r in connection.execute(query)]

    def put_artifact(self, job_id: str, name: str, content_type: str, body: str, now: int) -> None:
        digest = hashlib.sha256(body.encode()).hexdigest()
        with transaction(self.engine) as connection:
            exists = connection.execute(
                select(job_artifact.c.name).where(
                    job_artifact.c.job_id == job_id, job_artifact.c.name == name
                )
            ).first()
            if exists is None:  # idempotent: a redelivered job keeps the first artifact
                connection.execute(
                    job_artifact.insert().values(
                        job_id=job_id,
                        name=name,
                        content_type=content_type,
                        body=body,
                        sha256=digest,
                        ts_event=now,
                    )
                )

    def artifact(self, job_id: str, name: str) -> tuple[str, str] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(job_artifact.c.content_type, job_artifact.c.body).where(
                    job_artifact.c.job_id == job_id, job_artifact.c.name == name
                )
            ).first()
        return (row.content_type, row.body) if row is not None else None

    def artifacts(self, job_id: str) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(job_artifact.c.name).where(job_artifact.c.job_id == job_id)
            )
            return [row.name for row in rows]
