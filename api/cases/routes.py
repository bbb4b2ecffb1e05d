from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from sqlmodel import Session, SQLModel, col, select
from temporalio.client import Client

from api.calendar.workdays import ZONE
from api.cases import history, process
from api.cases import service as cases
from api.cases.lifecycle import CaseKind, Channel, Status, is_open
from api.cases.models import (
    CaseCreate,
    CasePublic,
    CasesPublic,
    ClueReport,
    Deadline,
    EventPublic,
    ExtensionRequest,
    HistoryPublic,
    PauseRequest,
    Respondent,
    ResumeRequest,
    WithdrawRequest,
)
from api.config import Settings
from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalClientDep, require
from api.mediation.models import Mediation
from api.rules.service import rules_in_force
from api.users.models import CITY_UNIT, Role, User
from workflows.case import CaseWorkflow
from workflows.messages import ClockInput, WithdrawInput

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
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
    response: Response,
) -> CasePublic:
    """Registers (登记) a complaint or a report (or both, linked) and starts its workflow."""
    if user.role == Role.STATION and body.channel != Channel.STATION:
        # A station's registration is what sends a complaint to its reconciliation first.
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", "channel"],
                    "msg": "a station registers with the channel station",
                    "type": "value_error",
                }
            ],
        )
    if body.client_ref:
        existing = cases.by_client_ref(session=session, user=user, client_ref=body.client_ref)
        if existing is not None:
            if existing.status == Status.REGISTERED:
                # The first request may have died between saving the case and starting
                # its workflow: the retry finishes the job.
                await process.ensure_started(
                    client=temporal,
                    settings=settings,
                    case_no=existing.case_no,
                    kind=existing.kind,
                )
            response.status_code = 200
            return cases.to_public(session=session, user=user, case=existing)
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
        response.status_code = 200
        return cases.to_public(session=session, user=user, case=existing)
    try:
        for each in registered:
            await process.start(
                client=temporal, settings=settings, case_no=each.case_no, kind=each.kind
            )
    except Exception as error:
        for each in registered:
            cases.discard(session=session, case=each)
        raise HTTPException(503, "the workflow service (Temporal) is not reachable") from error
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
    offset: Annotated[int, Query(ge=0)] = 0,
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
            for e in history.events(session=session, case_no=case.case_no)
        ]
    )


@router.post(
    "/{case_no}/withdraw", response_model=CasePublic, dependencies=[require(Role.OPERATOR)]
)
async def withdraw_case(
    case_no: str,
    body: WithdrawRequest,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Withdraws (撤回) the case at the complainant's request; its open tasks are cancelled."""
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    if not is_open(Status(case.status)):
        raise HTTPException(409, f"case {case_no} is already {case.status}")
    await process.submit(
        session=session,
        client=temporal,
        settings=settings,
        case=case,
        task_id=None,
        actor=user.username,
        body=body.model_dump(),
        handler=CaseWorkflow.withdraw,
        arg_for=lambda submission_id: WithdrawInput(submission_id=submission_id),
    )
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    return cases.to_public(session=session, user=user, case=case)


def _open_deadline(session: Session, case_no: str, name: str) -> Deadline:
    deadline = session.exec(
        select(Deadline)
        .where(Deadline.case_no == case_no, Deadline.name == name)
        .where(col(Deadline.met_at).is_(None))
        .order_by(col(Deadline.id).desc())
    ).first()
    if deadline is None:
        raise HTTPException(409, f"case {case_no} has no open {name} deadline")
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


async def _clock(
    *,
    case_no: str,
    name: str,
    body: SQLModel,
    handler: Any,
    session: Session,
    settings: Settings,
    temporal: Client,
    user: User,
) -> CasePublic:
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    deadline = _open_deadline(session, case.case_no, name)
    _may_hold(user, deadline)
    await process.submit(
        session=session,
        client=temporal,
        settings=settings,
        case=case,
        task_id=None,
        actor=user.username,
        body=body.model_dump(),
        handler=handler,
        arg_for=lambda submission_id: ClockInput(
            deadline_id=deadline.id or 0, submission_id=submission_id
        ),
        # A rung's deadline (the 45 days of mediation) is timed by its mediation's workflow.
        mediation=session.get(Mediation, deadline.mediation_id) if deadline.mediation_id else None,
    )
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    return cases.to_public(session=session, user=user, case=case)


@router.post("/{case_no}/deadlines/{name}/pause", response_model=CasePublic)
async def pause_clock(
    case_no: str,
    name: str,
    body: PauseRequest,
    session: SessionDep,
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
        session=session,
        settings=settings,
        temporal=temporal,
        user=user,
    )


@router.post("/{case_no}/deadlines/{name}/resume", response_model=CasePublic)
async def resume_clock(
    case_no: str,
    name: str,
    body: ResumeRequest,
    session: SessionDep,
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
        session=session,
        settings=settings,
        temporal=temporal,
        user=user,
    )


@router.post("/{case_no}/deadlines/{name}/extension", response_model=CasePublic)
async def request_extension(
    case_no: str,
    name: str,
    body: ExtensionRequest,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Asks for more working days (延期申请); a supervisor approves or refuses it."""
    case = cases.get_visible(session=session, user=user, case_no=case_no)
    deadline = _open_deadline(session, case.case_no, name)
    limit = rules_in_force(session=session, settings=settings).by_code(case.rule_set).limit(name)
    most = limit.extension_working_days or limit.extension_calendar_days
    if most is not None:
        # A statutory extension (核查 +15 working days, 调查 +30 days) is granted once.
        if deadline.extended_working_days:
            raise HTTPException(409, f"the {name} deadline has been extended once already")
        if body.working_days > most:
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["body", "working_days"],
                        "msg": f"the {name} deadline can be extended by {most} days at most",
                        "type": "value_error",
                    }
                ],
            )
    return await _clock(
        case_no=case_no,
        name=name,
        body=body,
        handler=CaseWorkflow.request_extension,
        session=session,
        settings=settings,
        temporal=temporal,
        user=user,
    )


@router.post(
    "/{case_no}/reports",
    response_model=CasePublic,
    status_code=201,
    dependencies=[require(Role.HANDLER)],
)
async def report_clue(
    case_no: str,
    body: ClueReport,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> CasePublic:
    """Opens a report linked to this complaint: a violation clue found while mediating."""
    complaint = cases.get_visible(session=session, user=user, case_no=case_no)
    if complaint.kind != CaseKind.COMPLAINT or complaint.unit != user.unit:
        raise HTTPException(403, "only the handling unit of a complaint can report its clues")
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
    try:
        await process.start(
            client=temporal, settings=settings, case_no=report.case_no, kind="report"
        )
    except Exception as error:
        cases.discard(session=session, case=report)
        raise HTTPException(503, "the workflow service (Temporal) is not reachable") from error
    history.append(
        session=session,
        case_no=complaint.case_no,
        actor=user.username,
        type="clue_reported",
        data={"report": report.case_no},
    )
    session.commit()
    return cases.to_public(session=session, user=user, case=report)
