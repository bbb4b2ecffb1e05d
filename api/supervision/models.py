from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Column, Index, String
from sqlmodel import Field, SQLModel

from api.casefile.lifecycle import Status
from api.db import UTCDateTime, utcnow


class SupervisionKind(StrEnum):
    WARNING = "warning"  # 预警：期限前两个工作日
    OVERDUE = "overdue"  # 超期
    NOTICE = "notice"  # 催办通知书：超期后一个工作日
    CRITICISM = "criticism"  # 通报批评：催办后五个工作日仍超期
    ACCOUNTABILITY = "accountability"  # 责任追究
    URGE = "urge"  # 督办人催办


class SupervisionRecord(SQLModel, table=True):
    """One rung of the escalation (督办) reached, or a supervisor's chase: the read model
    of ``/supervision/accountability``."""

    __table_args__ = (
        Index("ix_supervisionrecord_unit_at", "unit", "at"),
        Index("ix_supervisionrecord_kind_at", "kind", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")
    deadline: str | None = Field(default=None, max_length=40)
    unit: str = Field(foreign_key="unit.code", max_length=40)
    kind: SupervisionKind = Field(sa_type=String(20))
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow, index=True)
    # The handler who held the task (accountability names them); None if nobody had it.
    handler: str | None = Field(default=None, max_length=60)
    by: str = Field(default="system", max_length=60)


# --- API shapes ---------------------------------------------------------------------


# A pydantic model, not an SQLModel: pydantic builds a page of them in one validation,
# where an SQLModel's own ``__init__`` runs in Python for each row (about 3 µs a row).
class OverdueItem(BaseModel):
    case_no: str
    unit: str | None
    kind: str  # the deadline's name: the kind of task it bounds (triage, handle, …)
    deadline_id: int
    due_at: datetime
    due_date: date
    overdue_by_working_days: int
    task_id: int | None
    assignee: str | None
    supervised: bool
    status: Status


class UnitCount(SQLModel):
    unit: str | None
    count: int


class OverduePublic(SQLModel):
    data: list[OverdueItem]
    count: int
    by_unit: list[UnitCount]


class DueSoonItem(SQLModel):
    case_no: str
    unit: str | None
    kind: str
    deadline_id: int
    due_at: datetime
    due_date: date
    provisional: bool
    working_days_left: int
    task_id: int | None
    assignee: str | None
    status: Status


class DueSoonPublic(SQLModel):
    data: list[DueSoonItem]
    count: int


class UnitFigures(SQLModel):
    unit: str
    name: str
    received: int
    accepted: int
    replied: int
    closed: int
    reached: int
    satisfied: int
    handled: int  # handle deadlines that ended in the period
    handled_on_time: int
    on_time_rate: float | None
    reply_rate: float | None
    valid_callback_rate: float | None
    satisfaction_rate: float | None
    overdue: int
    supervised: int


class StatsPublic(SQLModel):
    from_: date = Field(alias="from")
    to: date
    data: list[UnitFigures]


class AccountabilityItem(SQLModel):
    id: int
    case_no: str
    unit: str
    kind: SupervisionKind
    at: datetime
    handler: str | None
    deadline: str | None
    by: str


class AccountabilityPublic(SQLModel):
    data: list[AccountabilityItem]
    count: int


class FigureDay(SQLModel, table=True):
    """The rollup of the bulletin's figures (日统计): a unit's count of one figure on one
    day (Asia/Shanghai). The steps keep it in the transaction of each change
    (``api.supervision.rollup``); the bulletin and the dashboard sum it over their days."""

    day: date = Field(primary_key=True)
    unit: str = Field(primary_key=True, max_length=40)
    figure: str = Field(primary_key=True, max_length=40)
    value: int = Field(default=0, sa_type=BigInteger)


class FigureMonth(SQLModel, table=True):
    """The same rollup by month (``yyyy-mm``): what a bulletin reads, a few rows per unit
    whatever the days and cases of the month. Kept beside the days, by the same steps."""

    month: str = Field(primary_key=True, max_length=7)
    unit: str = Field(primary_key=True, max_length=40)
    figure: str = Field(primary_key=True, max_length=40)
    value: int = Field(default=0, sa_type=BigInteger)


class CaseFigures(SQLModel, table=True):
    """What one case adds to the rollup now, ``[unit, day, figure, n]`` each: the next step
    of the case takes it back out and puts in what the case adds after."""

    case_no: str = Field(primary_key=True, max_length=32)
    figures: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RollupState(SQLModel, table=True):
    """When the rollup was last rebuilt from the raw records (one row): a database
    upgraded to have a rollup gets it built at the API's first start."""

    id: int = Field(default=1, primary_key=True)
    built_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
