"""Deadlines: the statutory time limits of a case, and the pauses of their clocks."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, text
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime


class DeadlineState(StrEnum):
    PENDING = "pending"
    MET = "met"
    OVERDUE = "overdue"
    PAUSED = "paused"


class DeadlinePolicy(StrEnum):
    """What happens when a deadline passes."""

    SUPERVISE = "supervise"  # the unit is late: the escalation (督办) chases it
    EXPIRE = "expire"  # the step ends by law (调解期满终止、申请期限届满): no one is late
    WATCH = "watch"  # another authority's time (法院): a reminder, nobody is chased


class Deadline(SQLModel, table=True):
    """A statutory time limit bounding one task kind of a case.

    ``due_date`` counts ``working_days`` (or ``calendar_days``) from ``started_on``, plus
    the approved extensions and the working days the clock stood paused. When the
    calendar changes, open deadlines are recomputed from these parts.
    """

    __table_args__ = (
        Index("ix_deadline_open_unit_due", "state", "unit", "due_at"),
        # Open deadlines only: /supervision/overdue and /due-soon, whatever the history, in
        # the overdue list's order to its end. ``met_at``, NULL in every row here, is a key
        # column so that SQLite, which keeps no statistics, sees this index match one term
        # more than ix_deadline_open_unit_due (every deadline ever missed) and takes it;
        # the overdue list orders by it first (a no-op) so PostgreSQL reads the order too.
        Index(
            "ix_deadline_open_state_met_unit_due",
            "state",
            "met_at",
            "unit",
            "due_at",
            "id",
            sqlite_where=text("met_at IS NULL"),
            postgresql_where=text("met_at IS NULL"),
        ),
        # The bulletin: handle deadlines ended in a period; each case's handle deadline.
        Index("ix_deadline_name_unit_met_at", "name", "unit", "met_at"),
        Index("ix_deadline_case_no_name_unit_met_at", "case_no", "name", "unit", "met_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    name: str = Field(max_length=40)
    # The unit that must meet it: the centre for triage and callback, the branch for handle.
    unit: str | None = Field(default=None, max_length=40)
    # The mediation whose workflow times it; None: the case's own workflow.
    mediation_id: int | None = Field(default=None, foreign_key="mediation.id", index=True)
    policy: DeadlinePolicy = Field(default=DeadlinePolicy.SUPERVISE, sa_type=String(20))
    extended_working_days: int = 0
    paused_working_days: int = 0
    # Set by a hand-down or transfer: the sender's last day, not computed here.
    fixed: bool = False
    # The rungs of the escalation, computed with the deadline.
    warn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notice_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    criticise_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The rungs reached (warning, notice, criticism), in order.
    rungs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_on: date
    working_days: int | None = None
    calendar_days: int | None = None
    due_date: date
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    provisional: bool = False
    state: DeadlineState = Field(default=DeadlineState.PENDING, index=True, sa_type=String(20))
    rule_set: str = Field(max_length=40)
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeadlinePause(SQLModel, table=True):
    """The clock stood still (鉴定检测): from ``started_at`` to ``ended_at``."""

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = ""
    by: str = Field(max_length=60)


class DeadlinePublic(SQLModel):
    name: str
    started_on: date | None = None
    due_at: datetime
    due_date: date
    provisional: bool
    state: DeadlineState
    working_days: int | None
    calendar_days: int | None
    rule_set: str
    unit: str | None = None
    extended_working_days: int = 0
    paused_working_days: int = 0
    fixed: bool = False
    warn_at: datetime | None = None
    notice_at: datetime | None = None
    criticise_at: datetime | None = None
    rungs: list[str] = []
    policy: DeadlinePolicy = DeadlinePolicy.SUPERVISE
