"""serving_activation: which published serving each alias points at, every repoint kept

An alias's serving is the one of its latest row; a rollback is a new row pointing back,
so the history of what served is never rewritten.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "serving_activation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("serving_id", sa.String(16), nullable=False),
        sa.Column("previous_serving_id", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serving_activation")),
    )
    op.create_index("ix_serving_activation_alias_id", "serving_activation", ["alias", "id"])


def downgrade() -> None:
    op.drop_index("ix_serving_activation_alias_id", table_name="serving_activation")
    op.drop_table("serving_activation")
