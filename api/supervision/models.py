from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class SupervisionKind(StrEnum):
    WARNING = "warning"  # 预警：期限前两个工作日
    OVERDUE = "overdue"  # 超期
    NOTICE = "notice"  # 催办通知书：超期后一个工作日
    CRITICISM = "criticism"  # 通报批评：催办后五个工作日仍超期
    ACCOUNTABILITY = "accountability"  # 责任追究
    URGE = "urge"  # 督办人催办


class SupervisionRecord(SQLModel, table=True):
    """One rung of the supervision ladder reached, or a supervisor's chase: the read model
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
