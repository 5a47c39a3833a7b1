"""workspace, workspace_member, ingestion_live_session; jobs and modeling sessions
belong to a workspace

Every existing job and session lands in the ``default`` workspace (created here, with no
members: open to any caller holding the API token). ``ingestion_live_session`` is one row
per client of the order-book stream, opened when it connects and closed when it leaves.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    workspace = op.create_table(
        "workspace",
        sa.Column("workspace_id", sa.String(48), nullable=False),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace")),
    )
    op.create_table(
        "workspace_member",
        sa.Column("workspace_id", sa.String(48), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "member", name=op.f("pk_workspace_member")),
    )
    op.create_table(
        "ingestion_live_session",
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(32), nullable=False),
        sa.Column("serving_id", sa.String(64), nullable=False),
        sa.Column("speed", sa.String(16), nullable=False),
        sa.Column("from_ns", sa.BigInteger(), nullable=True),
        sa.Column("to_ns", sa.BigInteger(), nullable=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("bins_sent", sa.Integer(), nullable=False),
        sa.Column("bins_dropped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_ingestion_live_session")),
    )
    op.create_index("ix_ingestion_live_session_started", "ingestion_live_session", ["started_at"])
    for table in ("experiment_job", "modeling_session"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("workspace_id", sa.String(48), nullable=False, server_default="default")
            )
    op.bulk_insert(
        workspace,
        [{"workspace_id": "default", "title": "Default workspace", "created_by": "migration",
          "created_at": 0}],
    )  # fmt: skip


def downgrade() -> None:
    for table in ("modeling_session", "experiment_job"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("workspace_id")
    op.drop_index("ix_ingestion_live_session_started", "ingestion_live_session")
    op.drop_table("ingestion_live_session")
    op.drop_table("workspace_member")
    op.drop_table("workspace")
