"""outbox

The outbox of domain events and jobs (`bastion.jobs`): one row per handler to run, written in
the transaction that asked for it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 19:58:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bastion_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=True),
        sa.Column("event_version", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bastion_outbox"),
    )
    op.create_index(
        "ix_bastion_outbox_state_available_at", "bastion_outbox", ["state", "available_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_bastion_outbox_state_available_at", table_name="bastion_outbox")
    op.drop_table("bastion_outbox")
