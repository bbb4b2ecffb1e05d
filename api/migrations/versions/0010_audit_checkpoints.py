"""audit checkpoints: signed Merkle roots over the heads of the case logs, and the leaves

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import api.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auditcheckpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("key_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "auditleaf",
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("case_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["auditcheckpoint.id"]),
        sa.PrimaryKeyConstraint("index"),
    )
    with op.batch_alter_table("auditleaf", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auditleaf_checkpoint_id"), ["checkpoint_id"], unique=False
        )
        batch_op.create_index("ix_auditleaf_case_no_index", ["case_no", "index"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auditleaf", schema=None) as batch_op:
        batch_op.drop_index("ix_auditleaf_case_no_index")
        batch_op.drop_index(batch_op.f("ix_auditleaf_checkpoint_id"))
    op.drop_table("auditleaf")
    op.drop_table("auditcheckpoint")
