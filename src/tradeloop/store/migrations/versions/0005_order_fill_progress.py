"""orders: filled quantity, average fill price, venue order id, stop price, time in force

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(28, 10)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("filled_quantity", MONEY, nullable=False, server_default="0"))
        batch.add_column(sa.Column("average_price", MONEY, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("venue_order_id", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("stop_price", MONEY))
        batch.add_column(
            sa.Column("time_in_force", sa.String(4), nullable=False, server_default="GTC")
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("time_in_force")
        batch.drop_column("stop_price")
        batch.drop_column("venue_order_id")
        batch.drop_column("average_price")
        batch.drop_column("filled_quantity")
