"""prediction_log insert-only: no unique key to overwrite by, a source per row

A second score of an event is a new row saying where it came from; readers take the first
score of each (event, model, target, horizon, shadow), so a later request can never
replace what the system predicted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["event_id", "model_version_id", "target", "horizon", "is_shadow"]


def upgrade() -> None:
    with op.batch_alter_table("prediction_log") as batch:
        batch.drop_constraint("uq_prediction_log_event_id", type_="unique")
        batch.add_column(sa.Column("source", sa.String(64), nullable=False, server_default=""))
        batch.create_index("ix_prediction_log_key", KEY)


def downgrade() -> None:
    with op.batch_alter_table("prediction_log") as batch:
        batch.drop_index("ix_prediction_log_key")
        batch.drop_column("source")
    # Keep the first score of each key before the unique key returns.
    op.execute(
        "DELETE FROM prediction_log WHERE id NOT IN (SELECT min(id) FROM prediction_log "
        "GROUP BY event_id, model_version_id, target, horizon, is_shadow)"
    )
    with op.batch_alter_table("prediction_log") as batch:
        batch.create_unique_constraint("uq_prediction_log_event_id", KEY)
