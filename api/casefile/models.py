"""The case file (案卷): each case's row, its append-only history, and the decisions people
sent on it (submissions) with the results of the steps that applied them.

Personal data (complainant, reporter, respondent's address) lives in these tables only: it
never goes into workflow inputs, histories or search attributes.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from api.casefile.lifecycle import CaseKind, Channel, Status
from api.db import UTCDateTime, utcnow


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
    __table_args__ = (
        # The case list, newest received first, ``id`` breaking ties so that pages neither
        # overlap nor skip (``api.cases.service.list_visible``). City-wide, PostgreSQL reads
        # the first backwards; SQLite, which without statistics prefers a column the query
        # names, reads the range of each kind listed (complaints, reports) in the second,
        # and stops each at the page's end. A branch's list is a range of the third.
        Index("ix_case_received_at_id", "received_at", "id"),
        Index("ix_case_kind_received_at_id", "kind", "received_at", "id"),
        Index("ix_case_unit_received_at_id", "unit", "received_at", "id"),
        # The bulletin (/supervision/stats): a unit's complaints closed in a period (and,
        # in the one above, those received).
        Index("ix_case_unit_closed_at", "unit", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(unique=True, index=True, max_length=32)
    kind: CaseKind = Field(sa_type=String(20))  # ix_case_kind_received_at_id
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
    # The events the step appended (none: first_seq > last_seq), and the decision it
    # applied: what /history/verify holds against the workflow's Temporal history.
    # None on steps recorded before they were kept.
    first_seq: int | None = None
    last_seq: int | None = None
    submission_id: str | None = Field(default=None, max_length=40)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class PendingStart(SQLModel, table=True):
    """A case registered with its first step whose workflow Temporal has not confirmed as
    started yet: the registration that starts it removes this once Temporal has, or the
    API's repair does later (``api.cases.repair``) for one whose answer was lost."""

    case_no: str = Field(primary_key=True, foreign_key="case.case_no", max_length=32)
    kind: str = Field(max_length=20)
    since: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow, index=True)


class SubmissionState(StrEnum):
    PENDING = "pending"  # sent; the workflow may have it (its outcome is not known yet)
    APPLIED = "applied"  # the step that took it is recorded
    REFUSED = "refused"  # the workflow refused it: it never changed the case


# Applied, and the workflow's answer not seen yet: the step ran before Temporal stored the
# update's acceptance (a local activity), so a lost answer may mean a lost update.
UNCONFIRMED_SQL = "state = 'applied' AND confirmed_at IS NULL"


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
        Index(
            "ix_submission_unconfirmed",
            "created_at",
            sqlite_where=text(UNCONFIRMED_SQL),
            postgresql_where=text(UNCONFIRMED_SQL),
        ),
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
    # When the workflow's answer to it was seen (``api.cases.repair`` asks again for one
    # applied without it): from then on Temporal's history certainly holds it.
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EventPublic(SQLModel):
    seq: int
    at: datetime
    actor: str
    type: str
    data: dict[str, Any]
    # The chain: this event's SHA-256, over the one before's and its own content.
    prev_hash: str
    hash: str
