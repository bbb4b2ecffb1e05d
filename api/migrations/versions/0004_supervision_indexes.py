"""indexes for the supervision views; deadlines of earlier cases get their unit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadline_open_state_unit_due",
            ["state", "unit", "due_at"],
            unique=False,
            sqlite_where=sa.text("met_at IS NULL"),
            postgresql_where=sa.text("met_at IS NULL"),
        )
        batch_op.create_index("ix_deadline_name_unit_met_at", ["name", "unit", "met_at"])
        batch_op.create_index(
            "ix_deadline_case_no_name_unit_met_at", ["case_no", "name", "unit", "met_at"]
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_unit_received_at", ["unit", "received_at"])
        batch_op.create_index("ix_case_unit_closed_at", ["unit", "closed_at"])
    # Deadlines set before they knew their unit: the centre's steps, and the branch's.
    op.execute(
        "UPDATE deadline SET unit = 'city' WHERE unit IS NULL AND name IN ('triage', 'callback')"
    )
    op.execute(
        'UPDATE deadline SET unit = (SELECT "case".unit FROM "case" '
        "WHERE \"case\".case_no = deadline.case_no) WHERE unit IS NULL AND name = 'handle'"
    )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_unit_closed_at")
        batch_op.drop_index("ix_case_unit_received_at")
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_index("ix_deadline_case_no_name_unit_met_at")
        batch_op.drop_index("ix_deadline_name_unit_met_at")
        batch_op.drop_index("ix_deadline_open_state_unit_due")
