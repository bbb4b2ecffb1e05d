from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from api.changelog import ChangePublic
from api.db import UTCDateTime, utcnow
from api.workdays import CalendarSource


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


# --- API shapes ---------------------------------------------------------------------


class CalendarYearPublic(BaseModel):
    year: int
    source: CalendarSource
    holidays: list[date]
    workdays: list[date]
    # Only for a year from the table: who set it, and when.
    updated_at: datetime | None = None
    updated_by: str | None = None


class CalendarYearUpdate(BaseModel):
    holidays: list[date] = PydanticField(max_length=366)
    workdays: list[date] = PydanticField(max_length=366)


class CalendarYearSet(CalendarYearPublic):
    # The cases whose open deadlines were sent to their workflows to be recomputed.
    recomputing: list[str]
    # True when the workflow service could not be reached: the arrangement is saved, the
    # deadlines are not recomputed yet (the same PUT again retries).
    recompute_pending: bool


class CalendarChangePublic(ChangePublic):
    year: int


class CalendarChangesPublic(BaseModel):
    data: list[CalendarChangePublic]
    count: int
