"""audit archive: closed workflows' Temporal histories, kept past Temporal's retention

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auditarchive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "run_id"),
    )
    with op.batch_alter_table("auditarchive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auditarchive_case_no"), ["case_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auditarchive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditarchive_case_no"))
    op.drop_table("auditarchive")
