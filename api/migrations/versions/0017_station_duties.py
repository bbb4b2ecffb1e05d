"""station duties: each branch's yearly demonstration sites (示范点名单) and the
rectification (整改) of a station assessed below the pass mark, each a file of its own

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "demonstrationlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", text(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("submitted_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", text(length=60), nullable=True),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("approved_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by", text(length=60), nullable=True),
        sa.ForeignKeyConstraint(["branch"], ["unit.code"]),
        sa.ForeignKeyConstraint(["case_no"], ["case.case_no"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no"),
        sa.UniqueConstraint("year", "branch"),
    )
    op.create_table(
        "stationrectification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", text(length=32), nullable=False),
        sa.Column("station", text(length=40), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("opened_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary", text(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("done_by", text(length=60), nullable=True),
        sa.Column("done_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assessment_id"], ["stationassessment.id"]),
        sa.ForeignKeyConstraint(["case_no"], ["case.case_no"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assessment_id"),
        sa.UniqueConstraint("case_no"),
    )
    with op.batch_alter_table("stationrectification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stationrectification_station"), ["station"], unique=False
        )
        batch_op.create_index(
            "ux_stationrectification_open",
            ["station"],
            unique=True,
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("stationrectification", schema=None) as batch_op:
        batch_op.drop_index("ux_stationrectification_open")
        batch_op.drop_index(batch_op.f("ix_stationrectification_station"))
    op.drop_table("stationrectification")
    op.drop_table("demonstrationlist")
