"""The API shapes of cases: what a registration sends, and what a case looks like."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, field_validator, model_validator
from sqlmodel import Field, SQLModel

from api.casefile.fold import CaseAsOf
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import EventPublic, Party, Respondent
from api.deadlines.models import DeadlinePublic
from api.incidents.models import IncidentPublic
from api.mediation.models import LadderPublic

__all__ = ["EventPublic", "Party", "Respondent"]


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
    # The cases that match, counted up to 1,000 past ``offset`` (``api.db.count_ahead``);
    # count_exact False: more than ``count`` match.
    count: int
    count_exact: bool = True


class HistoryPublic(SQLModel):
    events: list[EventPublic]


class HistoryAsOfPublic(SQLModel):
    """``GET /cases/{no}/history?as_of=``: the events up to ``as_of``, and the case as they
    leave it (``api.casefile.fold``)."""

    as_of: datetime
    case: CaseAsOf
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
    # The same client_ref again (a double click, a retry) opens the report once.
    client_ref: str | None = Field(default=None, min_length=1, max_length=100)


class WithdrawRequest(SQLModel):
    reason: Text = Field(min_length=1, max_length=2000)
