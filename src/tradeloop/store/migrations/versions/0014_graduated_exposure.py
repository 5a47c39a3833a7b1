"""account_mode, ramp_review, rollout_state: graduated exposure

``account_mode`` holds each account's mode (backtest, paper, live) and since when;
``ramp_review`` one row per finished live week (its P&L and the ramp step that follows);
``rollout_state`` the scalper's routing (rollout mode, canary share, cooldowns, fail-safe)
and the release state machine, each a versioned JSON document written by compare-and-set.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_mode",
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("since_ns", sa.BigInteger(), nullable=False),
        sa.Column("paper_since_ns", sa.BigInteger(), nullable=True),
        sa.Column("live_since_ns", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_mode")),
    )
    op.create_table(
        "ramp_review",
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("live_since_ns", sa.BigInteger(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("pnl_usd", sa.Numeric(28, 10), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "live_since_ns", "week", name=op.f("pk_ramp_review")),
    )
    op.create_table(
        "rollout_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollout_state")),
    )


def downgrade() -> None:
    op.drop_table("rollout_state")
    op.drop_table("ramp_review")
    op.drop_table("account_mode")
