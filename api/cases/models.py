"""Cases, their deadlines and their event log.

Personal data (complainant, respondent's address) lives in these tables only: it never
goes into workflow inputs, histories or search attributes.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, field_validator, model_validator
from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from api.cases.lifecycle import CaseKind, Channel, Status
from api.db import UTCDateTime, utcnow
from api.incidents.models import IncidentPublic
from api.mediation.models import LadderPublic


class Party(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    id_number: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class Respondent(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    district: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=40)


class Case(SQLModel, table=True):
    # The bulletin (/supervision/stats): a unit's complaints received or closed in a period.
    __table_args__ = (
        Index("ix_case_unit_received_at", "unit", "received_at"),
        Index("ix_case_unit_closed_at", "unit", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(unique=True, index=True, max_length=32)
    kind: CaseKind = Field(index=True, sa_type=String(20))
    channel: Channel = Field(sa_type=String(20))
    status: Status = Field(index=True, sa_type=String(20))
    unit: str | None = Field(default=None, foreign_key="unit.code", index=True)
    suggested_unit: str | None = Field(default=None, max_length=40)
    received_at: datetime = Field(sa_type=UTCDateTime)
    registered_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    registered_by: str = Field(max_length=60)
    registered_unit: str = Field(max_length=40, index=True)
    rule_set: str = Field(max_length=40)
    category: str | None = Field(default=None, max_length=100)
    description: str = ""
    claim: str | None = None
    complainant: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # A report's reporter (举报人): sealed, shown only to the case's handlers and
    # supervisors, every read logged. None for an anonymous report or a clue found by
    # the bureau itself.
    reporter: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    anonymous: bool = False
    # A complaint and the report it came with, or the report a clue in mediation opened.
    linked_case_no: str | None = Field(default=None, max_length=32, index=True)
    campaign: str | None = Field(default=None, max_length=40, index=True)  # 专项整治
    respondent: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    client_ref: str | None = Field(default=None, unique=True, max_length=100)
    # A hand-down (交办) or transfer (转办): who sent it, their reference and their last day.
    sender: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    sender_due_date: date | None = None
    overdue: bool = Field(default=False, index=True)
    outcome: str | None = Field(default=None, max_length=40)
    satisfaction: str | None = Field(default=None, max_length=40)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeadlineState(StrEnum):
    PENDING = "pending"
    MET = "met"
    OVERDUE = "overdue"
    PAUSED = "paused"


class DeadlinePolicy(StrEnum):
    """What happens when a deadline passes."""

    SUPERVISE = "supervise"  # the unit is late: the supervision ladder (督办) chases it
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
        # Open deadlines only: /supervision/overdue and /due-soon, whatever the history.
        Index(
            "ix_deadline_open_state_unit_due",
            "state",
            "unit",
            "due_at",
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
    # The rungs of the supervision ladder, computed with the deadline.
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


class Event(SQLModel, table=True):
    """One entry of a case's append-only history, chained by hash."""

    __table_args__ = (UniqueConstraint("case_no", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    seq: int
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    actor: str = Field(max_length=60)
    type: str = Field(max_length=60)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class StepRecord(SQLModel, table=True):
    """The result of an applied workflow step, so a retried activity changes nothing."""

    __table_args__ = (UniqueConstraint("case_no", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    key: str = Field(max_length=120)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class SubmissionState(StrEnum):
    PENDING = "pending"  # sent; the workflow may have it (its outcome is not known yet)
    APPLIED = "applied"  # the step that took it is recorded
    REFUSED = "refused"  # the workflow refused it: it never changed the case


class Submission(SQLModel, table=True):
    """A person's decision (a completion body, a withdrawal, a clock change), kept here
    for the step that applies it.

    The workflow update carries only the submission id and non-personal facts; the free
    text (replies, reasons, comments) never enters a workflow history. The submission id is
    the update's id too, so sending it again is applied once: a decision whose outcome was
    not confirmed stays ``pending`` until it is sent again and settled, and is never
    deleted, since the workflow may have accepted it.
    """

    __table_args__ = (
        Index("ix_submission_workflow_target_state", "workflow_id", "target", "state"),
    )

    id: str = Field(primary_key=True, max_length=40)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    task_id: int | None = None
    # What the decision is about: ``task:<id>``, ``deadline:<id>`` or ``case``.
    target: str = Field(default="case", max_length=40)
    workflow_id: str = Field(default="", max_length=120)
    update_name: str = Field(default="", max_length=60)  # the workflow update it was sent as
    arg: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: SubmissionState = Field(default=SubmissionState.PENDING, sa_type=String(20))
    actor: str = Field(max_length=60)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class DeadlinePause(SQLModel, table=True):
    """The clock stood still (鉴定检测): from ``started_at`` to ``ended_at``."""

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = ""
    by: str = Field(max_length=60)


# --- API shapes -------------------------------------------------------------------------


class Sender(SQLModel):
    """The authority that handed the case down (交办) or transferred it (转办)."""

    authority: str = Field(min_length=1, max_length=200)
    reference: str | None = Field(default=None, max_length=100)
    due_date: date = Field(description="the last day the sender set for handling")


class CaseCreate(SQLModel):
    kind: CaseKind = CaseKind.COMPLAINT
    channel: Channel
    received_at: datetime | None = None
    complainant: Party | None = None
    reporter: Party | None = None
    anonymous: bool = False
    # A complaint that also reports a violation: a linked report is registered with it.
    also_report: bool = False
    campaign: str | None = Field(default=None, max_length=40)
    respondent: Respondent
    category: str | None = Field(default=None, max_length=100)
    description: str = Field(min_length=1, max_length=20000)
    claim: str | None = Field(default=None, max_length=5000)
    client_ref: str | None = Field(default=None, min_length=1, max_length=100)
    sender: Sender | None = None

    def party_errors(self) -> list[tuple[str, str]]:
        """The fields that do not fit the kind: (field, why)."""
        if self.kind == CaseKind.COMPLAINT:
            errors = [] if self.complainant else [("complainant", "a complaint needs it")]
            if self.reporter is not None or self.anonymous:
                errors.append(("reporter", "reporter and anonymous are for reports"))
            return errors
        errors = []
        if self.complainant is not None or self.also_report:
            errors.append(("complainant", "a report has a reporter, not a complainant"))
        if self.anonymous == (self.reporter is not None):
            errors.append(("reporter", "a report has either a reporter or anonymous: true"))
        return errors

    @model_validator(mode="after")
    def _sender_for_hand_downs(self) -> "CaseCreate":
        carried = self.channel in (Channel.HAND_DOWN, Channel.TRANSFER)
        if carried and self.sender is None:
            raise ValueError("a hand-down or transfer needs its sender and their due date")
        if not carried and self.sender is not None:
            raise ValueError("sender is only for the channels hand_down and transfer")
        return self

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("description may not be blank")
        return value

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("received_at needs a time zone offset, e.g. +08:00")
        return value


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


class CasePublic(SQLModel):
    case_no: str
    kind: CaseKind
    channel: Channel
    status: Status
    unit: str | None
    suggested_unit: str | None
    received_at: datetime
    registered_at: datetime
    rule_set: str
    overdue: bool
    category: str | None
    description: str
    claim: str | None
    complainant: dict[str, Any] | None
    reporter: dict[str, Any] | None = None
    anonymous: bool = False
    linked_case_no: str | None = None
    campaign: str | None = None
    respondent: dict[str, Any]
    outcome: str | None
    satisfaction: str | None
    closed_at: datetime | None
    sender: dict[str, Any] | None = None
    deadlines: list[DeadlinePublic]
    # The mediation ladder (三位一体 + 诉调衔接): the current rung and each rung's outcome.
    mediation: LadderPublic | None = None
    # Steps that failed every attempt: the case waits there (故障, see /supervision/incidents).
    incidents: list[IncidentPublic] = []


class CaseSummary(SQLModel):
    case_no: str
    kind: CaseKind
    status: Status
    unit: str | None
    received_at: datetime
    overdue: bool
    category: str | None


class CasesPublic(SQLModel):
    data: list[CaseSummary]
    count: int


class EventPublic(SQLModel):
    seq: int
    at: datetime
    actor: str
    type: str
    data: dict[str, Any]


class HistoryPublic(SQLModel):
    events: list[EventPublic]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("may not be blank")
    return value


# A reason or description of only spaces says nothing: refused like an empty one.
Text = Annotated[str, AfterValidator(_not_blank)]


class PauseRequest(SQLModel):
    reason: Text = Field(min_length=1, max_length=2000, description="e.g. 送检机构与样品")


class ResumeRequest(SQLModel):
    note: str | None = Field(default=None, max_length=2000)


class ExtensionRequest(SQLModel):
    working_days: int = Field(ge=1, le=250)
    reason: Text = Field(min_length=1, max_length=2000)


class ClueReport(SQLModel):
    """A violation clue found while mediating (调解中发现的违法线索)."""

    description: Text = Field(min_length=1, max_length=20000)
    campaign: str | None = Field(default=None, max_length=40)


class WithdrawRequest(SQLModel):
    reason: Text = Field(min_length=1, max_length=2000)
