"""The /cases routes: register a case, list and read cases and their history, withdraw a
complaint, and report a clue found while mediating. The clock routes of a case's
deadlines are ``api.clock.routes``."""

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Response
from sqlmodel import Session

from api import process
from api.casefile import service as casefile
from api.casefile.fold import fold
from api.casefile.lifecycle import CaseKind, Status, is_open
from api.casefile.models import Event
from api.cases import registration
from api.cases import service as cases
from api.cases.models import (
    CaseCreate,
    CasePublic,
    CasesPublic,
    ClueReport,
    EventPublic,
    HistoryAsOfPublic,
    HistoryPublic,
    WithdrawRequest,
)
from api.config import Settings
from api.db import utcnow
from api.deps import (
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    StepEngine,
    StepEngineDep,
    TemporalClientDep,
    TemporalConnectionDep,
    require,
)
from api.errors import DECISION_RESPONSES, ErrorPublic, Invalid, conflict
from api.users.models import Role, User
from api.workdays import ZONE
from workflows.case import CaseWorkflow, workflow_id
from workflows.messages import WithdrawInput

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post(
    "",
    response_model=CasePublic,
    status_code=201,
    dependencies=[require(Role.OPERATOR, Role.STATION)],
    responses={200: {"description": "The same client_ref again: the case registered before"}},
)
async def register_case(
    body: CaseCreate,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalConnectionDep,
    user: CurrentUser,
    response: Response,
    background: BackgroundTasks,
    steps: StepEngineDep,
) -> CasePublic:
    """Registers (登记) a complaint or a report (or both, linked); its workflow starts once
    the registration is answered (``process.start_registered``)."""
    registered, public = await db.run(
        _registered, settings=settings, user=user, body=body, steps=steps
    )
    if registered.existing:
        response.status_code = 200
    background.add_task(process.start_registered, db, temporal, settings, registered.to_start)
    return public


def _registered(
    *, session: Session, settings: Settings, user: User, body: CaseCreate, steps: StepEngine
) -> tuple[registration.Registered, CasePublic]:
    """The registration, and the case as the person who registered it sees it, in one trip."""
    registered = registration.register(
        session=session, settings=settings, user=user, body=body, steps=steps
    )
    return registered, cases.public(session=session, user=user, case_no=registered.case_no)


@router.get("", response_model=CasesPublic)
def list_cases(
    session: SessionDep,
    user: CurrentUser,
    kind: CaseKind | None = None,
    status: Status | None = None,
    unit: str | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    category: Annotated[list[str] | None, Query()] = None,
) -> CasesPublic:
    """The cases this user may see, newest received first; ``category`` (repeatable): of
    these categories only (a sector's complaints, for its review)."""
    rows, count, exact = cases.list_visible(
        session=session,
        user=user,
        kind=kind,
        status=status,
        unit=unit,
        overdue=overdue,
        limit=limit,
        offset=offset,
        categories=category,
    )
    return CasesPublic(data=[cases.to_summary(c) for c in rows], count=count, count_exact=exact)


@router.get("/{case_no}", response_model=CasePublic)
def get_case(case_no: str, session: SessionDep, user: CurrentUser) -> CasePublic:
    """One case with its deadlines and the parties as this user may see them."""
    return cases.public(session=session, user=user, case_no=case_no)


@router.get(
    "/{case_no}/history",
    response_model=HistoryAsOfPublic | HistoryPublic,
    responses={422: {"model": ErrorPublic, "description": "as_of without an offset, or ahead"}},
)
def get_history(
    case_no: str,
    session: SessionDep,
    user: CurrentUser,
    as_of: Annotated[
        datetime | None,
        Query(
            description="the moment to look back to, with its offset (2026-11-13T17:00:00+08:00)"
            ": the events up to then, and the case as it stood"
        ),
    ] = None,
) -> HistoryAsOfPublic | HistoryPublic:
    """Every step, decision and deadline event of the case, in order; with ``as_of``, the
    events up to that moment and the case as they leave it (status, unit, open tasks,
    deadlines, the mediation's rung, the supervision reached)."""
    if as_of is not None:
        if as_of.tzinfo is None:
            raise Invalid(
                ("as_of", "as_of 须带时区偏移，例如 2026-11-13T17:00:00+08:00"),
                code="as_of.no_offset",
                where="query",
            )
        if as_of > utcnow():
            raise Invalid(("as_of", "as_of 不能晚于现在"), code="as_of.in_future", where="query")
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    seen = cases.events_as_seen(session=session, user=user, case=case)
    if as_of is None:
        return HistoryPublic(events=[_public(e) for e in seen])
    seen = [e for e in seen if e.at <= as_of]
    return HistoryAsOfPublic(
        as_of=as_of.astimezone(ZONE),
        case=fold(case.case_no, seen),
        events=[_public(e) for e in seen],
    )


def _public(event: Event) -> EventPublic:
    return EventPublic(
        seq=event.seq,
        at=event.at.astimezone(ZONE),
        actor=event.actor,
        type=event.type,
        data=event.data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


@router.post(
    "/{case_no}/withdraw",
    response_model=CasePublic,
    dependencies=[require(Role.OPERATOR)],
    responses=DECISION_RESPONSES,
)
async def withdraw_case(
    case_no: str,
    body: WithdrawRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Withdraws (撤回) the case at the complainant's request; its open tasks are cancelled."""
    decide = partial(_withdrawal, user=user, case_no=case_no, body=body.model_dump())
    await process.submit(db=db, client=temporal, settings=settings, decide=decide)
    return await db.run(cases.public, user=user, case_no=case_no)


def _withdrawal(
    *, session: Session, user: User, case_no: str, body: dict[str, Any]
) -> process.Decision:
    """The withdrawal to send to the case's workflow."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    if not is_open(Status(case.status)):
        raise conflict("case.closed", f"case {case_no} is already {case.status}")
    return process.Decision(
        case_no=case.case_no,
        workflow_id=workflow_id(case.case_no, case.kind),
        handler=CaseWorkflow.withdraw,
        target="case",
        actor=user.username,
        body=body,
        arg_for=lambda submission_id: WithdrawInput(submission_id=submission_id),
    )


@router.post(
    "/{case_no}/reports",
    response_model=CasePublic,
    status_code=201,
    dependencies=[require(Role.HANDLER)],
    responses=DECISION_RESPONSES,
)
async def report_clue(
    case_no: str,
    body: ClueReport,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalConnectionDep,
    user: CurrentUser,
    background: BackgroundTasks,
    steps: StepEngineDep,
) -> CasePublic:
    """Opens a report linked to this complaint: a violation clue found while mediating.
    The same ``client_ref`` again opens it once. Its workflow starts once this is
    answered."""
    created = await db.run(
        registration.register_clue,
        settings=settings,
        user=user,
        case_no=case_no,
        body=body,
        steps=steps,
    )
    public = await db.run(
        registration.record_clue, user=user, case_no=case_no, report_no=created.case_no
    )
    background.add_task(process.start_registered, db, temporal, settings, created.to_start)
    return public
