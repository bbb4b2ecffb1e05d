"""quality monitoring: the year's plans, the sampling batches and their samples (and the
XLSX imported), every change on record, the clean-ups a failure rate opens and the
delisting each failed sample's outlet is given

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cleanup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("commodity", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("tested", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("opened_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "commodity"),
    )
    op.create_table(
        "monitoringchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("monitoringchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitoringchange_subject"), ["subject"], unique=False)

    op.create_table(
        "monitoringplan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("minimum_samples", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year"),
    )
    op.create_table(
        "samplingbatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("samplingbatch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_samplingbatch_year"), ["year"], unique=False)

    op.create_table(
        "sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sample_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("outlet", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("business", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("credit_code", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("outlet_address", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("commodity", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("brand", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("lot", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("sampled_on", sa.Date(), nullable=False),
        sa.Column("tested_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("failed_items", sa.JSON(), nullable=False),
        sa.Column("entered_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("entered_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("report_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["samplingbatch.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_no"),
        sa.UniqueConstraint("sample_no"),
    )
    with op.batch_alter_table("sample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sample_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_sample_year_commodity", ["year", "commodity"], unique=False)

    op.create_table(
        "sampleimport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["samplingbatch.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sampleimport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sampleimport_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "delisting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cleanup_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("done_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("done_at", api.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cleanup_id"],
            ["cleanup.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["sample.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no"),
        sa.UniqueConstraint("sample_id"),
    )
    with op.batch_alter_table("delisting", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delisting_open",
            ["cleanup_id"],
            unique=False,
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("delisting", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_delisting_open",
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )

    op.drop_table("delisting")
    with op.batch_alter_table("sampleimport", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sampleimport_batch_id"))

    op.drop_table("sampleimport")
    with op.batch_alter_table("sample", schema=None) as batch_op:
        batch_op.drop_index("ix_sample_year_commodity")
        batch_op.drop_index(batch_op.f("ix_sample_batch_id"))

    op.drop_table("sample")
    with op.batch_alter_table("samplingbatch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_samplingbatch_year"))

    op.drop_table("samplingbatch")
    op.drop_table("monitoringplan")
    with op.batch_alter_table("monitoringchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoringchange_subject"))

    op.drop_table("monitoringchange")
    op.drop_table("cleanup")
