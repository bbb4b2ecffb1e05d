"""bulletins: a month's bulletin (通报), one row per version, beside its file

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    moment = api.db.UTCDateTime(timezone=True)
    op.create_table(
        "bulletin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", text(length=32), nullable=False),
        sa.Column("month", text(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("replaces", text(length=32), nullable=True),
        sa.Column("reason", text(length=2000), nullable=True),
        sa.Column("opened_at", moment, nullable=False),
        sa.Column("opened_by", text(length=60), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("cases", sa.JSON(), nullable=False),
        sa.Column("drafted_at", moment, nullable=True),
        sa.Column("foreword", sa.JSON(), nullable=False),
        sa.Column("criticisms", sa.JSON(), nullable=False),
        sa.Column("edited_at", moment, nullable=True),
        sa.Column("edited_by", text(length=60), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("number", text(length=60), nullable=True),
        sa.Column("dated", text(length=10), nullable=True),
        sa.Column("sha256", text(length=64), nullable=True),
        sa.Column("published_at", moment, nullable=True),
        sa.Column("published_by", text(length=60), nullable=True),
        sa.ForeignKeyConstraint(["case_no"], ["case.case_no"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no"),
        sa.UniqueConstraint("month", "version"),
        sa.UniqueConstraint("year", "seq"),
    )
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletin_month"), ["month"], unique=False)
        batch_op.create_index(
            "ux_bulletin_open_draft",
            ["month"],
            unique=True,
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.drop_index("ux_bulletin_open_draft")
        batch_op.drop_index(batch_op.f("ix_bulletin_month"))
    op.drop_table("bulletin")
