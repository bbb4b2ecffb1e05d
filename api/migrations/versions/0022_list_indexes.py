"""indexes for the lists, each read in its order from an index and stopped at the page's
end: the case list newest first (city-wide and a branch's), the inbox of open tasks (a
branch's, the centre's by role, the city's), and the open deadlines in the overdue list's
order

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_TASKS = "status = 'open' OR status = 'claimed'"
OPEN_DEADLINES = "met_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_received_at_id", ["received_at", "id"])
        batch_op.create_index("ix_case_kind_received_at_id", ["kind", "received_at", "id"])
        batch_op.create_index("ix_case_unit_received_at_id", ["unit", "received_at", "id"])
        # Both are the first columns of one above.
        batch_op.drop_index("ix_case_kind")
        batch_op.drop_index("ix_case_unit_received_at")
    with op.batch_alter_table("task", schema=None) as batch_op:
        for name, columns in (
            ("ix_task_open_unit_status_due", ["unit", "status", "due_at", "id"]),
            ("ix_task_open_role_status_due", ["role", "status", "due_at", "id"]),
            ("ix_task_open_status_due", ["status", "due_at", "id"]),
        ):
            batch_op.create_index(
                name,
                columns,
                sqlite_where=sa.text(OPEN_TASKS),
                postgresql_where=sa.text(OPEN_TASKS),
            )
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadline_open_state_met_unit_due",
            ["state", "met_at", "unit", "due_at", "id"],
            sqlite_where=sa.text(OPEN_DEADLINES),
            postgresql_where=sa.text(OPEN_DEADLINES),
        )
        batch_op.drop_index("ix_deadline_open_state_unit_due")  # the one above, met_at aside


def downgrade() -> None:
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadline_open_state_unit_due",
            ["state", "unit", "due_at"],
            sqlite_where=sa.text(OPEN_DEADLINES),
            postgresql_where=sa.text(OPEN_DEADLINES),
        )
        batch_op.drop_index("ix_deadline_open_state_met_unit_due")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_open_status_due")
        batch_op.drop_index("ix_task_open_role_status_due")
        batch_op.drop_index("ix_task_open_unit_status_due")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_unit_received_at", ["unit", "received_at"])
        batch_op.create_index("ix_case_kind", ["kind"])
        batch_op.drop_index("ix_case_unit_received_at_id")
        batch_op.drop_index("ix_case_kind_received_at_id")
        batch_op.drop_index("ix_case_received_at_id")
