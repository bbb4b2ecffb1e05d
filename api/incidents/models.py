"""Incidents (故障): a step of a case that failed every attempt, on record until it goes
through. The case waits at that step; supervisors see it and can have it tried again."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Incident(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("case_no", "key"),
        Index("ix_incident_state_opened_at", "state", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    # The workflow that waits at the step (the case's, or one of its mediations').
    workflow_id: str = Field(max_length=120)
    key: str = Field(max_length=120)  # the step's key: applied once, whenever it goes through
    step: str = Field(max_length=40)
    attempts: int = 0
    error: str = Field(default="", max_length=1000)  # the last failure, as the worker saw it
    state: IncidentState = Field(default=IncidentState.OPEN, sa_type=String(20))
    opened_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    failed_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retry_requested_by: str | None = Field(default=None, max_length=60)
    retry_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IncidentPublic(SQLModel):
    id: int
    case_no: str
    unit: str | None
    step: str
    attempts: int
    error: str
    state: IncidentState
    opened_at: datetime
    failed_at: datetime
    resolved_at: datetime | None
    retry_requested_by: str | None
    retry_requested_at: datetime | None


class IncidentsPublic(SQLModel):
    data: list[IncidentPublic]
    count: int
