"""experiment_job, job_event, job_artifact: the research job queue's state

A job's row says where it is (queued, running, done, failed, cancelled) and how far; its
events are the progress stream the API sends over SSE; its artifacts are what it made.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment_job",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("experiment", sa.String(128), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("points_total", sa.Integer(), nullable=False),
        sa.Column("points_done", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_experiment_job")),
    )
    op.create_table(
        "job_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_event")),
    )
    op.create_index("ix_job_event_job_id", "job_event", ["job_id", "id"])
    op.create_table(
        "job_artifact",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "name", name=op.f("pk_job_artifact")),
    )


def downgrade() -> None:
    op.drop_table("job_artifact")
    op.drop_index("ix_job_event_job_id", table_name="job_event")
    op.drop_table("job_event")
    op.drop_table("experiment_job")
