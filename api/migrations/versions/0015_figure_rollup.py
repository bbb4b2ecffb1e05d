"""figure rollup: the bulletin's figures per unit, per day (and per month), per figure,
kept by the steps;
what each case adds to it; and when it was last built from the records (the API builds it
at its first start after this upgrade)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "figureday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit", text(length=40), nullable=False),
        sa.Column("figure", text(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit", "figure"),
    )
    op.create_table(
        "figuremonth",
        sa.Column("month", text(length=7), nullable=False),
        sa.Column("unit", text(length=40), nullable=False),
        sa.Column("figure", text(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "unit", "figure"),
    )
    op.create_table(
        "casefigures",
        sa.Column("case_no", text(length=32), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_no"),
    )
    op.create_table(
        "rollupstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("built_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO rollupstate (id, built_at) VALUES (1, NULL)")


def downgrade() -> None:
    op.drop_table("rollupstate")
    op.drop_table("casefigures")
    op.drop_table("figuremonth")
    op.drop_table("figureday")
