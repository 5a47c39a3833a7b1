"""ingestion_audit_runs.owner: host and pid of the process running it

So that the next run can tell a run whose process was killed (sealed ABORTED) from one
still going.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingestion_audit_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(128), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ingestion_audit_runs") as batch:
        batch.drop_column("owner")
