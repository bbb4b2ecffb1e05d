from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi import Path as PathParam
from sqlmodel import Session, SQLModel, col, select
from temporalio.client import Client

from api.calendar.workdays import ZONE
from api.cases import history, process, steps
from api.cases import service as cases
from api.cases.lifecycle import CaseKind, Channel, Status, is_open
from api.cases.models import (
    Case,
    CaseCreate,
    CasePublic,
    CasesPublic,
    ClueReport,
    Deadline,
    DeadlineState,
    EventPublic,
    ExtensionRequest,
    HistoryPublic,
    PauseRequest,
    Respondent,
    ResumeRequest,
    WithdrawRequest,
)
from api.config import Settings
from api.db import Database
from api.deps import (
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    TemporalClientDep,
    require,
)
from api.errors import DECISION_RESPONSES, ApiError, ErrorPublic, conflict, invalid
from api.mediation.models import Mediation
from api.rules.service import rules_in_force
from api.users.models import CITY_UNIT, Role, User
from workflows.case import CaseWorkflow, workflow_id
from workflows.messages import ClockInput, WithdrawInput

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post(
    "",
    response_model=CasePublic,
    status_code=201,
    dependencies=[require(Role.OPERATOR, Role.STATION)],
    responses={
        200: {"description": "The same client_ref again: the case registered before"},
        503: {
            "model": ErrorPublic,
            "description": "Temporal did not confirm the case's process: send it again "
            "(with the same client_ref) and it is finished, not duplicated",
        },
    },
)
async def register_case(
    body: CaseCreate,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
    response: Response,
) -> CasePublic:
    """Registers (登记) a complaint or a report (or both, linked) and starts its workflow."""
    if user.role == Role.STATION and body.channel != Channel.STATION:
        # A station's registration is what sends a complaint to its reconciliation first.
        raise invalid("channel", "a station registers with the channel station")
    registered = await db.run(_register, settings=settings, user=user, body=body)
    if registered.existing:
        response.status_code = 200
    for case_no, kind in registered.to_start:
        try:
            started = await process.start_new(
                client=temporal, settings=settings, case_no=case_no, kind=kind
            )
        except process.StartUnconfirmed as error:
            # The workflow may run: the case stays, and the same request again finishes it.
            raise ApiError(
                503,
                "case.start_unconfirmed",
                f"case {registered.case_no} is registered, but the workflow service did not "
                "confirm its process; send the same registration again (same client_ref)",
            ) from error
        if not started:
            await db.run(_discard, case_nos=[no for no, _ in registered.to_start])
            raise ApiError(
                503, "service.unavailable", "the workflow service (Temporal) is not reachable"
            )
    return await db.run(_public, user=user, case_no=registered.case_no)


@dataclass(frozen=True)
class _Registered:
    case_no: str  # the case to answer with
    to_start: list[tuple[str, str]]  # (case_no, kind) whose workflows must run
    existing: bool  # registered before under this client_ref


def _register(*, session: Session, settings: Settings, user: User, body: CaseCreate) -> _Registered:
    if body.client_ref:
        existing = cases.by_client_ref(session=session, user=user, client_ref=body.client_ref)
        if existing is not None:
            return _existing(session, existing)
    rules = rules_in_force(session=session, settings=settings)
    campaign_codes = cases.campaigns(settings.campaigns_file)
    try:
        case = cases.register(
            session=session,
            rules=rules,
            user=user,
            body=body,
            prefix=settings.case_no_prefix,
            campaign_codes=campaign_codes,
            commit=not body.also_report,
        )
        registered = [case]
        if body.also_report:
            # 投诉兼举报: the complainant reports a violation too; a linked report.
            report = cases.register(
                session=session,
                rules=rules,
                user=user,
                body=body.model_copy(
                    update={
                        "kind": CaseKind.REPORT,
                        "reporter": body.complainant,
                        "complainant": None,
                        "also_report": False,
                        "client_ref": None,
                    }
                ),
                prefix=settings.case_no_prefix,
                campaign_codes=campaign_codes,
                linked_case_no=case.case_no,
            )
            case.linked_case_no = report.case_no
            session.add(case)
            session.commit()
            registered.append(report)
    except cases.DuplicateClientRef:
        # The same client_ref registered concurrently by another request: that one won.
        existing = cases.by_client_ref(session=session, user=user, client_ref=body.client_ref or "")
        assert existing is not None
        return _existing(session, existing)
    return _Registered(case.case_no, [(c.case_no, c.kind) for c in registered], existing=False)


def _existing(session: Session, case: Case) -> _Registered:
    """A registration sent again: a case still ``registered`` may lack its workflow (the
    first request died between saving it and starting it), and the retry finishes it."""
    to_start: list[tuple[str, str]] = []
    if case.status == Status.REGISTERED:
        to_start.append((case.case_no, case.kind))
        linked = session.exec(
            select(Case).where(Case.case_no == case.linked_case_no, Case.kind == CaseKind.REPORT)
        ).first()
        if linked is not None and linked.status == Status.REGISTERED:
            to_start.append((linked.case_no, linked.kind))
    return _Registered(case.case_no, to_start, existing=True)


def _discard(*, session: Session, case_nos: list[str]) -> None:
    for case_no in case_nos:
        case = session.exec(select(Case).where(Case.case_no == case_no)).first()
        if case is not None:
            cases.discard(session=session, case=case)


def _public(*, session: Session, user: User, case_no: str) -> CasePublic:
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    return cases.to_public(session=session, user=user, case=case)


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
) -> CasesPublic:
    """The cases this user may see, newest received first."""
    rows, count = cases.list_visible(
        session=session,
        user=user,
        kind=kind,
        status=status,
        unit=unit,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return CasesPublic(data=[cases.to_summary(c) for c in rows], count=count)


@router.get("/{case_no}", response_model=CasePublic)
def get_case(case_no: str, session: SessionDep, user: CurrentUser) -> CasePublic:
    """One case with its deadlines and the parties as this user may see them."""
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    return cases.to_public(session=session, user=user, case=case)


@router.get("/{case_no}/history", response_model=HistoryPublic)
def get_history(case_no: str, session: SessionDep, user: CurrentUser) -> HistoryPublic:
    """Every step, decision and deadline event of the case, in order."""
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    return HistoryPublic(
        events=[
            EventPublic(
                seq=e.seq, at=e.at.astimezone(ZONE), actor=e.actor, type=e.type, data=e.data
            )
            for e in cases.events_as_seen(session=session, user=user, case=case)
        ]
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
    decision = await db.run(_withdrawal, user=user, case_no=case_no, body=body.model_dump())
    await process.submit(db=db, client=temporal, settings=settings, decision=decision)
    return await db.run(_public, user=user, case_no=case_no)


def _withdrawal(
    *, session: Session, user: User, case_no: str, body: dict[str, Any]
) -> process.Decision:
    """The withdrawal to send to the case's workflow."""
    case = cases.get_visible(session=session, user=user, case_no=case_no)
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


def _open_deadline(session: Session, case_no: str, name: str) -> Deadline:
    deadline = session.exec(
        select(Deadline)
        .where(Deadline.case_no == case_no, Deadline.name == name)
        .where(col(Deadline.met_at).is_(None))
        .order_by(col(Deadline.id).desc())
    ).first()
    if deadline is None:
        raise conflict("deadline.not_open", f"case {case_no} has no open {name} deadline")
    return deadline


def _may_hold(user: User, deadline: Deadline) -> None:
    """The clock of a deadline is for the unit that must meet it (or a city supervisor)."""
    if user.role == Role.SUPERVISOR and user.unit == CITY_UNIT:
        return
    if (
        user.role not in (Role.HANDLER, Role.OPERATOR, Role.SUPERVISOR)
        or user.unit != deadline.unit
    ):
        raise HTTPException(
            403, f"the {deadline.name} deadline is held by unit {deadline.unit}, not by you"
        )


def _clock_decision(
    *,
    session: Session,
    settings: Settings,
    user: User,
    case_no: str,
    name: str,
    body: dict[str, Any],
    handler: Any,
) -> process.Decision:
    """The clock change to send to the workflow that times the deadline."""
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    deadline = _open_deadline(session, case.case_no, name)
    _may_hold(user, deadline)
    # A rung's deadline (the 45 days of mediation) is timed by its mediation's workflow.
    mediation = session.get(Mediation, deadline.mediation_id) if deadline.mediation_id else None
    owner = process.owner_of(case, mediation)
    target = f"deadline:{deadline.id}"
    if handler is CaseWorkflow.request_extension:
        refusal = steps.extension_refusal(
            rules_in_force(session=session, settings=settings),
            case,
            deadline,
            int(body["working_days"]),
            steps.pending_extension(session, deadline) is not None,
            asking=True,
        )
        if refusal is not None:
            if refusal.code == "extension.too_long":
                raise invalid("working_days", refusal.message, refusal.code)
            raise conflict(refusal.code, refusal.message)
    elif handler is CaseWorkflow.pause_clock and deadline.state != DeadlineState.PENDING:
        raise conflict(
            "deadline.not_running",
            f"the clock of the {name} deadline is {deadline.state}, not running",
        )
    elif handler is CaseWorkflow.resume_clock and deadline.state != DeadlineState.PAUSED:
        raise conflict("deadline.not_paused", f"the clock of the {name} deadline is not paused")
    deadline_id = deadline.id or 0
    return process.Decision(
        case_no=case.case_no,
        workflow_id=owner,
        handler=handler,
        target=target,
        actor=user.username,
        body=body,
        arg_for=lambda submission_id: ClockInput(
            deadline_id=deadline_id, submission_id=submission_id
        ),
    )


async def _clock(
    *,
    case_no: str,
    name: str,
    body: SQLModel,
    handler: Any,
    db: Database,
    settings: Settings,
    temporal: Client,
    user: User,
) -> CasePublic:
    decision = await db.run(
        _clock_decision,
        settings=settings,
        user=user,
        case_no=case_no,
        name=name,
        body=body.model_dump(),
        handler=handler,
    )
    await process.submit(db=db, client=temporal, settings=settings, decision=decision)
    return await db.run(_public, user=user, case_no=case_no)


DeadlineName = Annotated[str, PathParam(min_length=1, max_length=40)]


@router.post(
    "/{case_no}/deadlines/{name}/pause", response_model=CasePublic, responses=DECISION_RESPONSES
)
async def pause_clock(
    case_no: str,
    name: DeadlineName,
    body: PauseRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Stops a deadline's clock for testing or appraisal (鉴定检测)."""
    return await _clock(
        case_no=case_no,
        name=name,
        body=body,
        handler=CaseWorkflow.pause_clock,
        db=db,
        settings=settings,
        temporal=temporal,
        user=user,
    )


@router.post(
    "/{case_no}/deadlines/{name}/resume", response_model=CasePublic, responses=DECISION_RESPONSES
)
async def resume_clock(
    case_no: str,
    name: DeadlineName,
    body: ResumeRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Starts the clock again; the deadline moves by the working days it stood."""
    return await _clock(
        case_no=case_no,
        name=name,
        body=body,
        handler=CaseWorkflow.resume_clock,
        db=db,
        settings=settings,
        temporal=temporal,
        user=user,
    )


@router.post(
    "/{case_no}/deadlines/{name}/extension",
    response_model=CasePublic,
    responses=DECISION_RESPONSES,
)
async def request_extension(
    case_no: str,
    name: DeadlineName,
    body: ExtensionRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Asks for more working days (延期申请); a supervisor approves or refuses it.

    A statutory extension (核查 +15 working days, 调查 +30 days) is granted once; a
    deadline has one request open at a time (409 ``extension.already_granted``,
    ``extension.pending``)."""
    return await _clock(
        case_no=case_no,
        name=name,
        body=body,
        handler=CaseWorkflow.request_extension,
        db=db,
        settings=settings,
        temporal=temporal,
        user=user,
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
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Opens a report linked to this complaint: a violation clue found while mediating."""
    report_no = await db.run(
        _register_clue, settings=settings, user=user, case_no=case_no, body=body
    )
    try:
        started = await process.start_new(
            client=temporal, settings=settings, case_no=report_no, kind=CaseKind.REPORT
        )
    except process.StartUnconfirmed as error:
        raise ApiError(
            503,
            "case.start_unconfirmed",
            f"report {report_no} is registered, but the workflow service did not confirm "
            "its process yet",
        ) from error
    if not started:
        await db.run(_discard, case_nos=[report_no])
        raise ApiError(
            503, "service.unavailable", "the workflow service (Temporal) is not reachable"
        )
    return await db.run(_record_clue, user=user, case_no=case_no, report_no=report_no)


def _register_clue(
    *, session: Session, settings: Settings, user: User, case_no: str, body: ClueReport
) -> str:
    complaint = cases.get_visible(session=session, user=user, case_no=case_no)
    if complaint.kind != CaseKind.COMPLAINT or complaint.unit != user.unit:
        raise HTTPException(403, "only the handling unit of a complaint can report its clues")
    history.lock_case(session, complaint.case_no)  # counted and opened by one request at a time
    reported = cases.clue_reports(session=session, case_no=complaint.case_no)
    if reported >= settings.max_clue_reports_per_case:
        raise conflict(
            "clue.too_many",
            f"case {case_no} has {reported} clue reports already, the most one case may open",
        )
    report = cases.register(
        session=session,
        rules=rules_in_force(session=session, settings=settings),
        user=user,
        body=CaseCreate(
            kind=CaseKind.REPORT,
            channel=Channel.EX_OFFICIO,
            anonymous=True,  # the bureau's own finding: there is no reporter to protect
            respondent=Respondent.model_validate(complaint.respondent),
            category=complaint.category,
            description=body.description,
            campaign=body.campaign,
        ),
        prefix=settings.case_no_prefix,
        campaign_codes=cases.campaigns(settings.campaigns_file),
        linked_case_no=complaint.case_no,
    )
    return report.case_no


def _record_clue(*, session: Session, user: User, case_no: str, report_no: str) -> CasePublic:
    history.append(
        session=session,
        case_no=case_no,
        actor=user.username,
        type="clue_reported",
        data={"report": report_no},
    )
    session.commit()
    # The handler who found the clue is answered with the report, which is the centre's
    # to triage (no unit yet, so it is not among the handler's cases).
    report = session.exec(select(Case).where(Case.case_no == report_no)).one()
    return cases.to_public(session=session, user=user, case=report)
