"""campaigns: the special campaigns (专项整治) with their period and quotas, every change
made to one, every tagging of a report, and what each quarter's end and the end found

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", text(length=40), nullable=False),
        sa.Column("name", text(length=200), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("case_no", text(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "campaignchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", text(length=40), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", text(length=60), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaignchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaignchange_campaign"), ["campaign"], unique=False)
    op.create_table(
        "campaigntag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", text(length=32), nullable=False),
        sa.Column("campaign", text(length=40), nullable=True),
        sa.Column("previous", text(length=40), nullable=True),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", text(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaigntag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigntag_case_no"), ["case_no"], unique=False)
    op.create_table(
        "campaigncheckpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", text(length=40), nullable=False),
        sa.Column("name", text(length=40), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign", "name"),
    )


def downgrade() -> None:
    op.drop_table("campaigncheckpoint")
    with op.batch_alter_table("campaigntag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigntag_case_no"))
    op.drop_table("campaigntag")
    with op.batch_alter_table("campaignchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaignchange_campaign"))
    op.drop_table("campaignchange")
    op.drop_table("campaign")
