"""event labels counted in bars; session of pivot events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_labels") as batch_op:
        batch_op.alter_column("horizon_min", new_column_name="horizon_bars")
        batch_op.add_column(sa.Column("bars_to_barrier", sa.Integer(), nullable=True))
    with op.batch_alter_table("pivot_events") as batch_op:
        batch_op.add_column(sa.Column("session", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pivot_events") as batch_op:
        batch_op.drop_column("session")
    with op.batch_alter_table("event_labels") as batch_op:
        batch_op.drop_column("bars_to_barrier")
        batch_op.alter_column("horizon_bars", new_column_name="horizon_min")
