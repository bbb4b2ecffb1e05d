"""confirmed submissions: when the workflow's answer to a decision was seen, so that one
applied without it (its update possibly lost with Temporal's answer) is sent again

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNCONFIRMED = "state = 'applied' AND confirmed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confirmed_at", api.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Every decision applied so far was applied by an activity, which runs only once
    # Temporal has stored the update's acceptance: its history holds it.
    op.execute("UPDATE submission SET confirmed_at = created_at WHERE state = 'applied'")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submission_unconfirmed",
            ["created_at"],
            sqlite_where=sa.text(UNCONFIRMED),
            postgresql_where=sa.text(UNCONFIRMED),
        )


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_unconfirmed")
        batch_op.drop_column("confirmed_at")
