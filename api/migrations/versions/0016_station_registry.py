"""station registry: the city's divisions with the branch that covers each, the stations of
一会两站 and 12315 五进, every change made to a station, and their assessments

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "division",
        sa.Column("code", text(length=12), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("name", text(length=100), nullable=False),
        sa.Column("county_code", text(length=12), nullable=False),
        sa.Column("township_code", text(length=12), nullable=True),
        sa.Column("branch", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["branch"], ["unit.code"]),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_division_branch"), ["branch"], unique=False)
        batch_op.create_index(batch_op.f("ix_division_level"), ["level"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_division_township_code"), ["township_code"], unique=False
        )
    op.create_table(
        "station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", text(length=40), nullable=False),
        sa.Column("name", text(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("five_in", sa.String(length=20), nullable=True),
        sa.Column("branch", sa.String(), nullable=False),
        sa.Column("township", text(length=12), nullable=False),
        sa.Column("village", text(length=12), nullable=True),
        sa.Column("host_name", text(length=200), nullable=True),
        sa.Column("host_credit_code", text(length=18), nullable=True),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("demonstration", sa.Boolean(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_reason", text(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["branch"], ["unit.code"]),
        sa.ForeignKeyConstraint(["township"], ["division.code"]),
        sa.ForeignKeyConstraint(["unit"], ["unit.code"]),
        sa.ForeignKeyConstraint(["village"], ["division.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.create_index("ix_station_branch_closed_on", ["branch", "closed_on"], unique=False)
    op.create_table(
        "stationchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station", text(length=40), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", text(length=60), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stationchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stationchange_station"), ["station"], unique=False)
    op.create_table(
        "stationassessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station", text(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessor", text(length=60), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", text(length=2000), nullable=True),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stationassessment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stationassessment_station_year", ["station", "year"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stationassessment", schema=None) as batch_op:
        batch_op.drop_index("ix_stationassessment_station_year")
    op.drop_table("stationassessment")
    with op.batch_alter_table("stationchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stationchange_station"))
    op.drop_table("stationchange")
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_index("ix_station_branch_closed_on")
    op.drop_table("station")
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_division_township_code"))
        batch_op.drop_index(batch_op.f("ix_division_level"))
        batch_op.drop_index(batch_op.f("ix_division_branch"))
    op.drop_table("division")
