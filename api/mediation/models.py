"""A complaint's mediations, the rungs they entered, their sessions and the parties' consents.

One ``Mediation`` per run of the ladder, each run a ``MediationWorkflow`` (id
``mediation-<case_no>-<number>``): a station's reconciliation is one run, the branch's
mediation after acceptance another, a redo after an unsatisfied callback a third. Names of
attendees and free text (minutes, notes) live in these tables only.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow
from api.mediation.ladder import Consent, Outcome, Party, Rung, Stage


class MediationState(StrEnum):
    STARTING = "starting"  # opened by the complaint's step; its workflow is being started
    OPEN = "open"  # its workflow runs it
    ENDED = "ended"


class Mediation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("case_no", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    number: int
    start_rung: Rung = Field(sa_type=String(20))
    stage: Stage = Field(sa_type=String(20))
    state: MediationState = Field(default=MediationState.STARTING, sa_type=String(20))
    # The unit mediating now: the station (rung 0) or the branch.
    unit: str = Field(foreign_key="unit.code", max_length=40)
    started_at: datetime = Field(sa_type=UTCDateTime)
    outcome: Outcome | None = Field(default=None, sa_type=String(30))
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by: str | None = Field(default=None, max_length=60)


class MediationRung(SQLModel, table=True):
    """One entry of a rung: how it was entered, by whom it is worked, how it ended."""

    id: int | None = Field(default=None, primary_key=True)
    mediation_id: int = Field(foreign_key="mediation.id", index=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    rung: Rung = Field(sa_type=String(20))
    # registered (at a station) · accepted (by the centre) · redo · consent · agreement ·
    # failed · invalid · guidance · entrusted (by a court)
    via: str = Field(max_length=30)
    unit: str = Field(max_length=40)
    entered_at: datetime = Field(sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=30)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Structured facts only (ground, committee, court, dates, amounts, how each party was
    # told); free text stays on the task results.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MediationSession(SQLModel, table=True):
    """A mediation session of the branch (调解记录): when, who attended, the minutes."""

    id: int | None = Field(default=None, primary_key=True)
    mediation_id: int = Field(foreign_key="mediation.id", index=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    held_on: date
    place: str | None = Field(default=None, max_length=200)
    attendees: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    minutes: str
    recorded_by: str = Field(max_length=60)
    recorded_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class MediationConsent(SQLModel, table=True):
    """A party's consent to (or refusal of) a move up the ladder, as evidence."""

    id: int | None = Field(default=None, primary_key=True)
    mediation_id: int = Field(foreign_key="mediation.id", index=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    purpose: Consent = Field(sa_type=String(30))
    party: Party = Field(sa_type=String(20))
    given: bool
    given_on: date
    form: str = Field(max_length=20)  # written · oral · online
    note: str | None = None
    recorded_by: str = Field(max_length=60)
    recorded_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


# --- API shapes -------------------------------------------------------------------------


class Attendee(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    role: Literal["complainant", "respondent", "mediator", "agent", "other"]  # agent: 代理人


class SessionCreate(SQLModel):
    held_on: date
    place: str | None = Field(default=None, max_length=200)
    attendees: list[Attendee] = Field(min_length=1, max_length=50)
    minutes: str = Field(min_length=1, max_length=20000)


class SessionPublic(SQLModel):
    id: int
    number: int
    held_on: date
    place: str | None
    attendees: list[dict[str, Any]]
    minutes: str
    recorded_by: str
    recorded_at: datetime


class ConsentCreate(SQLModel):
    purpose: Consent
    party: Party
    given: bool
    given_on: date
    form: Literal["written", "oral", "online"]  # 书面 · 口头 · 线上
    note: str | None = Field(default=None, max_length=5000)


class ConsentPublic(SQLModel):
    id: int
    number: int
    purpose: Consent
    party: Party
    given: bool
    given_on: date
    form: str
    note: str | None
    recorded_by: str
    recorded_at: datetime


class RungPublic(SQLModel):
    number: int  # the mediation (the run of the ladder) it belongs to
    rung: Rung
    level: int
    via: str
    unit: str
    entered_at: datetime
    outcome: str | None
    ended_at: datetime | None
    details: dict[str, Any]


class LadderPublic(SQLModel):
    """The ladder as ``GET /cases/{case_no}`` shows it: where it stands, what each rung gave."""

    number: int
    state: MediationState
    current_rung: Rung | None  # None once ended
    current_level: int | None
    stage: Stage
    unit: str
    outcome: Outcome | None
    rungs: list[RungPublic]


class LadderDetail(LadderPublic):
    sessions: list[SessionPublic]
    consents: list[ConsentPublic]


class Committee(SQLModel):
    code: str
    name: str
    district: str | None = None


class CommitteesPublic(SQLModel):
    data: list[Committee]
    count: int


def amount(value: Any) -> str:
    """A recovered amount as the string the history and details keep."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))
