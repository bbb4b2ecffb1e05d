from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class CalendarYear(SQLModel, table=True):
    """An admin-maintained year arrangement (国务院办公厅放假安排): wins over the package."""

    year: int = Field(primary_key=True)
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    workdays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    updated_by: str = Field(max_length=60)


class CalendarChange(SQLModel, table=True):
    """Every change of a year's arrangement: who, when, before and after."""

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
