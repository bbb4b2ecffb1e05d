"""decisions kept until settled, incidents, one open extension request per deadline

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:46:19.768214

- ``submission`` keeps what a decision was sent as (workflow, update, input) and whether it
  was applied, so an unconfirmed one is settled by sending it again, never deleted. Rows
  from before were all taken by their steps (or refused and deleted): ``applied``.
- ``incident``: a step that failed every attempt.
- At most one open ``approve_extension`` task per deadline. Earlier versions let several
  stand; all but the oldest of each deadline are cancelled here, on the case's record.
- ``case.linked_case_no`` is indexed (the clue reports a complaint opened are counted).
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db
from api.casefile.history import GENESIS, digest

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_REQUESTS = "kind = 'approve_extension' AND status IN ('open', 'claimed')"


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("opened_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failed_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retry_requested_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("retry_requested_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_no"], ["case.case_no"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no", "key"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_case_no"), ["case_no"], unique=False)
        batch_op.create_index("ix_incident_state_opened_at", ["state", "opened_at"], unique=False)

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_linked_case_no"), ["linked_case_no"], unique=False
        )

    with op.batch_alter_table("submission", schema=None) as batch_op:
        for column in (
            sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
            sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
            sa.Column("update_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
            sa.Column("arg", sa.JSON(), nullable=True),
            sa.Column("state", sa.String(length=20), nullable=True),
        ):
            batch_op.add_column(column)
    submission = sa.table(
        "submission",
        sa.column("task_id", sa.Integer),
        sa.column("target", sa.String),
        sa.column("workflow_id", sa.String),
        sa.column("update_name", sa.String),
        sa.column("arg", sa.JSON),
        sa.column("state", sa.String),
    )
    op.execute(
        submission.update().values(
            target=sa.case(
                (
                    submission.c.task_id.is_not(None),
                    sa.literal("task:") + sa.cast(submission.c.task_id, sa.String),
                ),
                else_=sa.literal("case"),
            ),
            workflow_id="",
            update_name="",
            arg=sa.cast(sa.literal("{}"), sa.JSON),
            state="applied",
        )
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        for name in ("target", "workflow_id", "update_name", "arg", "state"):
            batch_op.alter_column(name, nullable=False)
        batch_op.create_index(
            "ix_submission_workflow_target_state",
            ["workflow_id", "target", "state"],
            unique=False,
        )

    _cancel_duplicate_extension_requests()
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ux_task_open_extension_request",
            ["deadline_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_REQUESTS),
            postgresql_where=sa.text(OPEN_REQUESTS),
        )


def _cancel_duplicate_extension_requests() -> None:
    """Keeps the oldest open request of each deadline; the others are cancelled, each with
    an event on its case's chained record (as a step would write it)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            f"SELECT id, case_no, deadline_id FROM task WHERE {OPEN_REQUESTS} "
            "AND deadline_id IS NOT NULL ORDER BY deadline_id, id"
        )
    ).all()
    seen: set[int] = set()
    now = datetime.now(UTC)
    for task_id, case_no, deadline_id in rows:
        if deadline_id not in seen:
            seen.add(deadline_id)
            continue
        bind.execute(
            sa.text("UPDATE task SET status = 'cancelled', completed_at = :at WHERE id = :id"),
            {"at": _stored(bind, now), "id": task_id},
        )
        last = bind.execute(
            sa.text(
                "SELECT seq, hash FROM event WHERE case_no = :case_no ORDER BY seq DESC LIMIT 1"
            ),
            {"case_no": case_no},
        ).first()
        seq = last[0] + 1 if last else 1
        prev_hash = last[1] if last else GENESIS
        data = {
            "task_id": task_id,
            "kind": "approve_extension",
            "reason": "a second open request for the same deadline (one at a time)",
        }
        bind.execute(
            sa.text(
                "INSERT INTO event (case_no, seq, at, actor, type, data, prev_hash, hash) "
                "VALUES (:case_no, :seq, :at, 'system', 'task_cancelled', :data, :prev, :hash)"
            ),
            {
                "case_no": case_no,
                "seq": seq,
                "at": _stored(bind, now),
                "data": json.dumps(data, ensure_ascii=False),
                "prev": prev_hash,
                "hash": digest(prev_hash, seq, now, "system", "task_cancelled", data),
            },
        )


def _stored(bind: sa.engine.Connection, at: datetime) -> datetime:
    """As api.db.UTCDateTime stores it: naive UTC on SQLite, aware elsewhere."""
    return at.replace(tzinfo=None) if bind.dialect.name == "sqlite" else at


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ux_task_open_extension_request")

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_workflow_target_state")
        batch_op.drop_column("state")
        batch_op.drop_column("arg")
        batch_op.drop_column("update_name")
        batch_op.drop_column("workflow_id")
        batch_op.drop_column("target")

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_linked_case_no"))

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_state_opened_at")
        batch_op.drop_index(batch_op.f("ix_incident_case_no"))

    op.drop_table("incident")
