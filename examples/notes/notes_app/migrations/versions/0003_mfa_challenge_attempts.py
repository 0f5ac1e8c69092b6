"""mfa challenge attempts

Each MFA challenge counts the codes tried on it: after five wrong ones it is dead.
Challenges pending during the upgrade start at zero.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:12:05.118402
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _challenges() -> sa.Table:
    """The challenges table with this revision's column, so SQLite's batch mode need not
    reflect it (which also keeps `--sql` offline mode working)."""
    return sa.Table(
        "auth_mfa_challenges",
        sa.MetaData(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_auth_mfa_challenges_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_auth_mfa_challenges"),
        sa.Index("ix_auth_mfa_challenges_user_id", "user_id"),
    )


def upgrade() -> None:
    # SQLite adds a column with a constant default in place: no table copy needed.
    op.add_column(
        "auth_mfa_challenges",
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("auth_mfa_challenges", copy_from=_challenges()) as batch_op:
        batch_op.drop_column("attempts")
