"""append-only history: triggers refuse UPDATE and DELETE of an event; each step record
keeps the events it appended and the decision it applied (for /history/verify)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A case discarded because its workflow certainly never started (status still
# ``registered``) takes its events with it; nothing else removes or changes one.
DISCARDABLE = (
    "EXISTS (SELECT 1 FROM \"case\" WHERE case_no = OLD.case_no AND status = 'registered')"
)
REFUSAL = "the case history is append-only: an event cannot be changed or removed"

SQLITE = [
    f"""CREATE TRIGGER event_no_update BEFORE UPDATE ON event
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    f"""CREATE TRIGGER event_no_delete BEFORE DELETE ON event WHEN NOT {DISCARDABLE}
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
]

POSTGRES = [
    f"""CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND {DISCARDABLE} THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event
    FOR EACH ROW EXECUTE FUNCTION event_append_only()""",
]


def upgrade() -> None:
    with op.batch_alter_table("steprecord", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_seq", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("submission_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER event_append_only ON event")
        op.execute("DROP FUNCTION event_append_only()")
    else:
        op.execute("DROP TRIGGER event_no_update")
        op.execute("DROP TRIGGER event_no_delete")
    with op.batch_alter_table("steprecord", schema=None) as batch_op:
        batch_op.drop_column("submission_id")
        batch_op.drop_column("last_seq")
        batch_op.drop_column("first_seq")
