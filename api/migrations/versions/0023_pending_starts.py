"""pending starts: a case registered with its first step, until Temporal confirms that its
workflow started (the registration's start, or the repair's later)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The history's triggers (0009) let a case's events go only with the case, while its
# workflow certainly never started: still ``registered`` (registered without its first
# step), or its start still pending (registered with it).
REGISTERED = "EXISTS (SELECT 1 FROM \"case\" WHERE case_no = OLD.case_no AND status = 'registered')"
PENDING = "EXISTS (SELECT 1 FROM pendingstart WHERE case_no = OLD.case_no)"
REFUSAL = "the case history is append-only: an event cannot be changed or removed"


def _sqlite_trigger(discardable: str) -> list[str]:
    return [
        "DROP TRIGGER event_no_delete",
        f"""CREATE TRIGGER event_no_delete BEFORE DELETE ON event WHEN NOT ({discardable})
        BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    ]


def _postgres_function(discardable: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND ({discardable}) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'integrity_constraint_violation';
        END $$"""
    ]


def _triggers(discardable: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_function(discardable) if postgres else _sqlite_trigger(discardable):
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "pendingstart",
        sa.Column("case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("since", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_no"], ["case.case_no"]),
        sa.PrimaryKeyConstraint("case_no"),
    )
    with op.batch_alter_table("pendingstart", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pendingstart_since"), ["since"], unique=False)
    _triggers(f"{REGISTERED} OR {PENDING}")


def downgrade() -> None:
    _triggers(REGISTERED)
    with op.batch_alter_table("pendingstart", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pendingstart_since"))
    op.drop_table("pendingstart")
