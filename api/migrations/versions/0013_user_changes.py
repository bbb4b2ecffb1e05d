"""user changes: what admins change about users (created, role, unit, enabled, password
reset); and the instant before which a user's bearer tokens are void

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "userchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("userchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_userchange_username"), ["username"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tokens_valid_after", api.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("tokens_valid_after")
    with op.batch_alter_table("userchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_userchange_username"))
    op.drop_table("userchange")
