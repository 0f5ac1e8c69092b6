"""note versions

Notes gain a `version`, bumped by every change: the `ETag` a client sends back
in `If-Match`. Notes written before start at version 1.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 19:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _notes(*, server_default: bool) -> sa.Table:
    """The notes table with this revision's column, so SQLite's batch mode need not
    reflect it (which also keeps `--sql` offline mode working)."""
    default = sa.text("1") if server_default else None
    return sa.Table(
        "notes",
        sa.MetaData(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=default, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_notes_owner_id_users", ondelete="CASCADE"
        ),
        sa.Index("ix_notes_owner_id_created_at_id", "owner_id", "created_at", "id"),
    )


def upgrade() -> None:
    # Existing notes start at 1; the default then goes, as the model has none (the
    # application sets every version itself).
    op.add_column(
        "notes",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    with op.batch_alter_table("notes", copy_from=_notes(server_default=True)) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("notes", copy_from=_notes(server_default=False)) as batch_op:
        batch_op.drop_column("version")
