"""reference documents and division changes: the admin's saves of the station checklist,
the monitoring catalogue and the review sectors, each on record; and the admin's changes
to the division list (a township given to another branch with the stations that went with
it, a community added, renamed, or retired when merged away)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "divisionchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("divisionchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_divisionchange_division"), ["division"], unique=False)
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("merged_into", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )

    op.create_table(
        "referencechange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referencechange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referencechange_name"), ["name"], unique=False)

    op.create_table(
        "referencedocument",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("saved_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("saved_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("referencedocument")
    with op.batch_alter_table("referencechange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referencechange_name"))

    op.drop_table("referencechange")
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.drop_column("merged_into")
        batch_op.drop_column("retired_on")
    with op.batch_alter_table("divisionchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_divisionchange_division"))

    op.drop_table("divisionchange")
