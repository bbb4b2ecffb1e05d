"""Reading a case as a user may, and keeping the decisions people send on it."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import uuid4

from pydantic import BaseModel
from sqlalchemy import text, update
from sqlmodel import Session, col, or_, select

from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import (
    UNCONFIRMED_SQL,
    Case,
    PendingStart,
    Submission,
    SubmissionState,
)
from api.db import utcnow
from api.errors import NotFound
from api.users.models import CITY_UNIT, Role, User


def visible_filter(*, user: User, campaigns: bool = True) -> Any:
    """Who sees which cases: the city centre sees all, a branch its own, a station its own.
    A campaign's file (专项整治, the city's) is every branch's to read: its warnings go to
    the branches behind, and hold no one's personal data.

    ``campaigns=False`` for a query of other kinds only (the case list): without the ``OR``
    a branch's cases are one range of the index on their unit."""
    if user.unit == CITY_UNIT:
        return True
    if user.role == Role.STATION:
        return Case.registered_unit == user.unit
    if not campaigns:
        return col(Case.unit) == user.unit
    return or_(col(Case.unit) == user.unit, col(Case.kind) == CaseKind.CAMPAIGN)


def get_visible(*, session: Session, user: User, case_no: str) -> Case:
    case = session.exec(
        select(Case).where(Case.case_no == case_no).where(visible_filter(user=user))
    ).first()
    if case is None:
        raise NotFound("case.not_found", f"case {case_no} not found")
    return case


def new_submission(
    *,
    session: Session,
    case_no: str,
    workflow_id: str,
    update_name: str,
    target: str,
    task_id: int | None,
    actor: str,
    body: dict[str, Any],
    arg_for: Callable[[str], BaseModel],
) -> Submission:
    """Stores a decision before it is sent; its id is the update's id."""
    submission_id = uuid4().hex
    submission = Submission(
        id=submission_id,
        case_no=case_no,
        task_id=task_id,
        target=target,
        workflow_id=workflow_id,
        update_name=update_name,
        arg=arg_for(submission_id).model_dump(mode="json"),
        actor=actor,
        body=body,
        created_at=utcnow(),
        state=SubmissionState.PENDING,
    )
    session.add(submission)
    session.commit()
    return submission


def unsettled(*, session: Session, workflow_id: str, target: str) -> list[Submission]:
    """Decisions on ``target`` sent to the workflow whose outcome is not known yet."""
    return list(
        session.exec(
            select(Submission)
            .where(
                Submission.workflow_id == workflow_id,
                Submission.target == target,
                Submission.state == SubmissionState.PENDING,
            )
            .order_by(col(Submission.created_at))
        ).all()
    )


def applied_unconfirmed(*, session: Session, target: str) -> Submission | None:
    """The latest decision on ``target`` a step applied whose workflow's answer was never
    seen (``unconfirmed``)."""
    return session.exec(
        select(Submission)
        .where(text(UNCONFIRMED_SQL))
        .where(Submission.target == target)
        .order_by(col(Submission.created_at).desc())
    ).first()


def confirm_submissions(*, session: Session, ids: list[str]) -> None:
    """Notes that the workflow answered these decisions: its history holds them."""
    session.execute(
        update(Submission)
        .where(col(Submission.id).in_(ids), col(Submission.confirmed_at).is_(None))
        .values(confirmed_at=utcnow())
    )
    session.commit()


def unconfirmed(*, session: Session, before: datetime, limit: int) -> list[Submission]:
    """Decisions a step applied before ``before`` whose workflow's answer was never seen:
    applied by a local activity, they may have been lost with that answer (Temporal
    restarted before it stored the update), leaving the case ahead of its workflow."""
    return list(
        session.exec(
            select(Submission)
            .where(text(UNCONFIRMED_SQL))
            .where(col(Submission.created_at) < before)
            .order_by(col(Submission.created_at))
            .limit(limit)
        ).all()
    )


def refuse_submission(*, session: Session, submission_id: str) -> bool:
    """Marks a decision the workflow refused; False if a step had applied it after all."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.state == SubmissionState.APPLIED:
        return False
    submission.state = SubmissionState.REFUSED
    session.add(submission)
    session.commit()
    return True


def start_pending(*, session: Session, case_no: str) -> bool:
    """Whether the case's workflow may not run yet: registered with its first step, and
    Temporal has not confirmed the start (``api.cases.repair`` finishes it)."""
    return session.get(PendingStart, case_no) is not None


def open_file(
    *,
    session: Session,
    case_no: str,
    kind: CaseKind,
    unit: str,
    actor: str,
    rule_set: str,
    linked_case_no: str | None = None,
    client_ref: str | None = None,
) -> Case:
    """A file the bureau opens itself (a bulletin, a duty, a campaign): registered now by
    ``actor`` for ``unit``, its workflow still to start. Added and flushed, not committed."""
    now = utcnow()
    case = Case(
        case_no=case_no,
        kind=kind,
        channel=Channel.EX_OFFICIO,
        status=Status.REGISTERED,
        unit=unit,
        received_at=now,
        registered_at=now,
        registered_by=actor,
        registered_unit=unit,
        rule_set=rule_set,
        linked_case_no=linked_case_no,
        client_ref=client_ref,
    )
    session.add(case)
    session.flush()
    return case
