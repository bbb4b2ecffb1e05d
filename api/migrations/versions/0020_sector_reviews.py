"""sector reviews: the reviews (社会评议) of a sector with their businesses, every change on
record, the findings with their rectification orders, and what each review's end found

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("businesses", sa.JSON(), nullable=False),
        sa.Column("case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "reviewchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviewchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewchange_review"), ["review"], unique=False)

    op.create_table(
        "reviewfinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("credit_code", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("point", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
        sa.Column("source_case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("order_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("rectified_on", sa.Date(), nullable=True),
        sa.Column("rectification", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_no"),
        sa.UniqueConstraint("review", "source_case_no"),
    )
    with op.batch_alter_table("reviewfinding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewfinding_review"), ["review"], unique=False)

    op.create_table(
        "reviewreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review"),
    )


def downgrade() -> None:
    op.drop_table("reviewreport")
    with op.batch_alter_table("reviewfinding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewfinding_review"))

    op.drop_table("reviewfinding")
    with op.batch_alter_table("reviewchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewchange_review"))

    op.drop_table("reviewchange")
    op.drop_table("review")
