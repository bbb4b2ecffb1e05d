"""A month's bulletin (通报), one row per version, beside its file (a ``Case`` of kind
``bulletin``, whose history and review task it has).

A draft's figures are frozen when it is drafted (the month is over, so they are settled);
its foreword and criticisms are the city supervisor's to edit until it is published. Then
nothing of it changes: its SHA-256 over the published content is on the row and in the
file's history, and a correction is a new version that cites the one it replaces.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class Bulletin(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("month", "version"),
        UniqueConstraint("year", "seq"),  # the 文号's number within its year, once
        # At most one draft of a month at a time: a second correction asked for meanwhile
        # cannot open beside the first.
        Index(
            "ux_bulletin_open_draft",
            "month",
            unique=True,
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", unique=True, max_length=32)
    month: str = Field(max_length=7, index=True)  # yyyy-mm
    version: int = Field(ge=1)
    # The version this one corrects (its file's number), and why.
    replaces: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=2000)
    opened_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    opened_by: str = Field(max_length=60)
    # Frozen when drafted: api.bulletins.figures.compute, and each branch's case lines.
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cases: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    drafted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The supervisor's: the opening paragraphs, and the criticisms (通报批评) listed.
    foreword: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    criticisms: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    edited_by: str | None = Field(default=None, max_length=60)
    # Published: its number (文号), the day it bears, and the hash of what was published.
    year: int | None = None
    seq: int | None = None
    number: str | None = Field(default=None, max_length=60)
    dated: str | None = Field(default=None, max_length=10)  # yyyy-mm-dd
    sha256: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=60)
