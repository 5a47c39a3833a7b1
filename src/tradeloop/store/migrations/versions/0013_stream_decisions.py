"""stream_decision: what a stream stage decided for one input message

A stage of the scalper's stream topology (risk, executor) stores its decision for a
message before the message is acknowledged; a redelivered message (the stage was killed
before its acknowledgement) is answered from this row, never decided again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_decision",
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("decision_json", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stage", "message_id", name=op.f("pk_stream_decision")),
    )
    op.create_index("ix_stream_decision_recorded", "stream_decision", ["stage", "recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_stream_decision_recorded", table_name="stream_decision")
    op.drop_table("stream_decision")
