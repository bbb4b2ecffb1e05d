"""The web workplace (工作台), in Simplified Chinese: sign-in, the inbox, a task with its
form, and the case page.

Pages are rendered on the server (Jinja2) from the same services as the JSON routes; a
task's form is generated from its kind's completion model (``api.pages.forms``), and a
completion goes to the workflow exactly as ``POST /api/v1/tasks/{id}/complete`` sends it.
The session is a cookie (``api.auth.sessions``); every form carries its CSRF token.
"""

from datetime import date
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, SQLModel
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from api import labels, process
from api.audit import dossier
from api.audit import service as audit
from api.auth import service as logins
from api.auth import sessions
from api.casefile import service as casefile
from api.cases import registration
from api.cases.models import ClueReport, ExtensionRequest, PauseRequest, ResumeRequest
from api.clock import service as clock
from api.config import Settings
from api.db import Database
from api.deps import (
    DatabaseDep,
    SessionDep,
    SettingsDep,
    StepEngineDep,
    TemporalClientDep,
    get_temporal,
)
from api.errors import DomainError, Invalid, NotAllowed, NotFound
from api.inbox import service as inbox
from api.mediation import service as mediation
from api.mediation.models import ConsentCreate, SessionCreate
from api.pages import forms, registering, supervising, views
from api.pages.render import field_text, refusal, refused, render
from api.pages.session import PageUser, Posted, SignInRequired, page_user
from api.tasks import kinds
from api.tasks import service as tasks
from api.tasks.models import TaskKind
from api.users.models import Role, User
from workflows.case import CaseWorkflow

router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "weiquan_login"


def _safe_back(back: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not back:
        return "/inbox"
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or not back.startswith("/") or back.startswith("//"):
        return "/inbox"
    return back


# --- sign in and out --------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> RedirectResponse:
    signed_in = request.cookies.get(sessions.COOKIE)
    return RedirectResponse("/inbox" if signed_in else "/login", status_code=303)


def _login_page(
    request: Request, back: str, error: str = "", username: str = "", status_code: int = 200
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF) or sessions.new_login_token()
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        back=back,
        error=error,
        username=username,
        login_csrf=token,
    )
    settings = request.app.state.settings
    response.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="lax", secure=settings.cookie_secure
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, _safe_back(next))


@router.post("/login")
async def sign_in(request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    form: FormData = await request.form()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    back = _safe_back(str(form.get("next", "")))
    sent = form.get("login_csrf")
    cookie = request.cookies.get(LOGIN_CSRF)
    if not cookie or not isinstance(sent, str) or not sessions.same(cookie, sent):
        return _login_page(request, back, labels.ERROR["csrf.missing"], username, status_code=403)
    if not username or not password:
        return _login_page(request, back, "请填写用户名和密码", username, status_code=422)
    client = request.client.host if request.client else None
    outcome = await db.run(
        logins.sign_in, settings=settings, username=username, password=password, client=client
    )
    if isinstance(outcome, logins.Locked):
        return _login_page(request, back, labels.error(outcome.code), username, 429)
    if outcome is None:
        return _login_page(
            request, back, labels.ERROR["auth.wrong_password"], username, status_code=401
        )
    token = await db.run(sessions.start, settings=settings, user=outcome)
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=settings.session_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, _form: Posted) -> RedirectResponse:
    sessions.end(session=session, token=request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response


# --- the inbox ----------------------------------------------------------------------------


def _inbox_context(
    session: Session, settings: Any, user: User, kind: str | None, state: str | None
) -> dict[str, Any]:
    chosen_kind = TaskKind(kind) if kind in kinds.LABELS else None
    chosen_state = state if state in views.STATES else None
    rows, count = views.task_rows(
        session=session, settings=settings, user=user, kind=chosen_kind, state=chosen_state
    )
    return {
        "rows": rows,
        "count": count,
        "kind": chosen_kind.value if chosen_kind else "",
        "state": chosen_state or "",
        "kinds": kinds.LABELS,
        "states": views.STATES,
    }


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    kind: str | None = None,
    state: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    context = _inbox_context(session, settings, user, kind, state)
    notice = f"已办结：{kinds.LABELS[done]}" if done in kinds.LABELS else ""
    return render(
        request,
        "inbox.html",
        user,
        notice=notice,
        poll_seconds=settings.inbox_poll_seconds,
        **context,
    )


@router.get("/inbox/rows", response_class=HTMLResponse)
def inbox_rows(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    kind: str | None = None,
    state: str | None = None,
) -> HTMLResponse:
    """The inbox's rows alone: the page polls it, so a task that arrives or that a
    colleague takes shows without a reload."""
    context = _inbox_context(session, settings, user, kind, state)
    return render(request, "_task_rows.html", user, **context)


def _back_to(form: dict[str, str], fallback: str) -> str:
    return _safe_back(form.get("back") or fallback)


@router.post("/tasks/{task_id}/claim")
def claim(
    request: Request, task_id: int, session: SessionDep, user: PageUser, form: Posted
) -> Response:
    try:
        inbox.claim(session=session, user=user, task_id=task_id)
    except DomainError as error:
        return refused(request, user, error)
    return RedirectResponse(_back_to(form, f"/tasks/{task_id}"), status_code=303)


@router.post("/tasks/{task_id}/release")
def release(
    request: Request, task_id: int, session: SessionDep, user: PageUser, form: Posted
) -> Response:
    try:
        inbox.release(session=session, user=user, task_id=task_id)
    except DomainError as error:
        return refused(request, user, error)
    return RedirectResponse(_back_to(form, "/inbox"), status_code=303)


# --- a task and its form ------------------------------------------------------------------


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    request: Request, task_id: int, session: SessionDep, settings: SettingsDep, user: PageUser
) -> Response:
    view = views.task_view(session=session, settings=settings, user=user, task_id=task_id)
    if view.task.kind == TaskKind.REVIEW_BULLETIN:
        # A bulletin is reviewed on its own page: its figures, foreword and criticisms.
        context = view.task.context
        return RedirectResponse(
            f"/bulletins/{context['month']}?version={context['version']}", status_code=303
        )
    return render(request, "task.html", user, view=view, can_act=_can_act(user, view))


def _can_act(user: User, view: views.TaskView) -> bool:
    return tasks.can_act(user=user, task=view.task) and view.task.status in (
        "open",
        "claimed",
    )


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def complete(
    request: Request,
    task_id: int,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Completes the task with the form's body, as the JSON route does; a refusal shows
    the form again with what was typed, the error beside its field."""
    view = await db.run(views.task_view, settings=settings, user=user, task_id=task_id)
    body = forms.fill(view.form, posted)
    try:
        decide = partial(inbox.completion, settings=settings, user=user, task_id=task_id, body=body)
        lost = partial(inbox.lost_answer, user=user, task_id=task_id, body=body)
        client = await get_temporal(request)
        await process.submit(db=db, client=client, settings=settings, decide=decide, lost=lost)
        await db.run(inbox.completed, user=user, task_id=task_id)
    except Invalid as error:
        found = error.detail if isinstance(error.detail, list) else []
        if error.code != "request.invalid":  # the service's own rule, in its own words
            found = [{**e, "message": labels.error(error.code)} for e in found]
        forms.show_errors(view.form, found)
        return render(request, "task.html", user, 422, view=view, can_act=_can_act(user, view))
    except DomainError as error:
        # Done or taken meanwhile: the form stays, with what was typed, but cannot be sent.
        view.form.error = labels.error(error.code)
        view.task = await db.run(inbox.visible, user=user, task_id=task_id)
        can_act = _can_act(user, view)
        return render(
            request,
            "task.html",
            user,
            error.status_code,
            view=view,
            can_act=can_act,
            stale=not can_act,
        )
    return RedirectResponse(f"/inbox?done={quote(view.task.kind)}", status_code=303)


# --- registering ------------------------------------------------------------------------


def _may_register(user: User) -> None:
    if user.role not in (Role.OPERATOR, Role.STATION):
        raise NotAllowed("auth.role", "only operators and stations register cases")


def _start_registered(
    request: Request, db: Database, settings: Settings, to_start: list[process.ToStart]
) -> BackgroundTask:
    """The new cases' workflows, started once the page is answered."""
    return BackgroundTask(
        process.start_registered, db, request.app.state.temporal, settings, to_start
    )


@router.get("/register", response_class=HTMLResponse)
def register_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    _may_register(user)
    context = registering.context(session=session, settings=settings, user=user)
    return render(request, "register.html", user, form={}, errors={}, **context)


@router.post("/register", response_class=HTMLResponse)
async def register(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
    steps: StepEngineDep,
) -> Response:
    """Registers as ``POST /api/v1/cases`` does; a refusal shows the form again, as typed,
    with each error beside its field."""
    _may_register(user)
    data = registering.body(posted)
    general = ""
    try:
        created = await db.run(
            registration.register,
            settings=settings,
            user=user,
            body=registering.parse(data),
            steps=steps,
        )
        return RedirectResponse(
            f"/cases/{quote(created.case_no)}",
            status_code=303,
            background=_start_registered(request, db, settings, created.to_start),
        )
    except (ValidationError, DomainError) as error:
        found, general, status = refusal(error)
        fields, named = registering.errors_by_field(found)
        general = general or named
    context = await db.run(registering.context, settings=settings, user=user)
    # The same client_ref again: sending the form once more never registers twice.
    context["client_ref"] = posted.get("client_ref") or context["client_ref"]
    return render(
        request,
        "register.html",
        user,
        status,
        form=posted,
        errors=fields,
        general=general or (labels.ERROR["request.invalid"] if fields else ""),
        **context,
    )


# --- cases --------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    kind: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    unit: Annotated[str, Query(max_length=40)] = "",
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    overdue: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """Case search: by kind, status, handling unit, the period received, overdue."""
    rows, count, exact = views.case_list(
        session=session,
        user=user,
        kind=kind or None,
        status=status or None,
        unit=unit or None,
        start=from_,
        end=to,
        overdue=overdue,
    )
    return render(
        request,
        "cases.html",
        user,
        rows=rows,
        count=count,
        count_exact=exact,
        chosen={"kind": kind, "status": status, "unit": unit, "overdue": overdue},
        start=from_.isoformat() if from_ else "",
        end=to.isoformat() if to else "",
        names=views.unit_names(session),
    )


@router.get("/cases/{case_no}/verification", response_class=HTMLResponse)
async def verification_badge(
    request: Request,
    case_no: str,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: PageUser,
) -> HTMLResponse:
    """The verification badge of a case (its chain, the Temporal cross-check and the
    signed checkpoint): a fragment the case page loads once it shows."""
    if user.role not in (Role.AUDITOR, Role.SUPERVISOR):
        raise NotAllowed("auth.role", "verification is for auditors and supervisors")
    verified = await audit.verification(
        db=db, client=temporal, settings=settings, user=user, case_no=case_no
    )
    return render(request, "_verification.html", user, verified=verified)


@router.get("/cases/{case_no}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_no: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
    notice: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    moment, as_of_error = views.parse_as_of(as_of)
    view = views.case_view(
        session=session, settings=settings, user=user, case_no=case_no, as_of=moment
    )
    return render(
        request,
        "case.html",
        user,
        422 if as_of_error else 200,
        view=view,
        as_of_text=as_of or "",
        as_of_error=as_of_error,
        notice=notice if notice in NOTICES else "",
    )


@router.get("/cases/{case_no}/dossier")
async def dossier_page(
    request: Request,
    case_no: str,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: PageUser,
    format: Annotated[Literal["html", "pdf"], Query()] = "html",
) -> Response:
    """The case dossier, as the JSON API's ``/cases/{no}/dossier`` gives it: the page, or
    with ``?format=pdf`` a PDF to download."""
    if user.role not in (Role.AUDITOR, Role.SUPERVISOR):
        raise NotAllowed("auth.role", "the dossier is for auditors and supervisors")
    html, number = await audit.dossier_document(
        db=db, client=temporal, settings=settings, user=user, case_no=case_no
    )
    return await dossier.response(html, number, format, download=True)


async def _case_again(
    request: Request,
    db: Any,
    settings: Any,
    user: User,
    case_no: str,
    status: int,
    **form: Any,
) -> HTMLResponse:
    """The case page again, after one of its forms was refused: ``form`` is that form's
    errors, what was typed and its message."""
    view = await db.run(views.case_view, settings=settings, user=user, case_no=case_no)
    return render(
        request, "case.html", user, status, view=view, as_of_text="", as_of_error="", **form
    )


# The clock of a deadline: the request model and the workflow update of each action.
CLOCK: dict[str, tuple[type[SQLModel], Any, str]] = {
    "pause": (PauseRequest, CaseWorkflow.pause_clock, "已中止计时"),
    "resume": (ResumeRequest, CaseWorkflow.resume_clock, "已恢复计时"),
    "extension": (ExtensionRequest, CaseWorkflow.request_extension, "已提出延期申请"),
}


@router.post("/cases/{case_no}/deadlines/{name}/{action}", response_class=HTMLResponse)
async def clock_action(
    request: Request,
    case_no: str,
    name: str,
    action: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Pauses or resumes a deadline's clock, or asks for an extension, as the JSON clock
    routes do; a refusal shows the case page again with the message beside the field."""
    if action not in CLOCK:
        raise NotFound("not_found", f"no clock action {action}")
    model, handler, done = CLOCK[action]
    typed = {k: v.strip() for k, v in posted.items() if k in model.model_fields and v.strip()}
    errors: dict[str, str] = {}
    try:
        body = model.model_validate(typed)
        decide = partial(
            clock.decision,
            settings=settings,
            user=user,
            case_no=case_no,
            name=name,
            body=body.model_dump(),
            handler=handler,
        )
        client = await get_temporal(request)
        await process.submit(db=db, client=client, settings=settings, decide=decide)
        return RedirectResponse(
            f"/cases/{quote(case_no)}?notice={quote(done)}#deadlines", status_code=303
        )
    except (ValidationError, DomainError) as error:
        found, general, status = refusal(error)
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        errors.setdefault(f"{name}.{action}.{loc[-1] if loc else ''}", field_text(e))
    return await _case_again(
        request,
        db,
        settings,
        user,
        case_no,
        status,
        clock_errors=errors,
        clock_typed={f"{name}.{action}.{k}": v for k, v in typed.items()},
        clock_general={f"{name}.{action}": general or labels.ERROR["request.invalid"]},
    )


# What a branch records while it mediates: the request model of each, and its service.
MEDIATION_RECORDS: dict[str, tuple[type[SQLModel], Any, str]] = {
    "sessions": (SessionCreate, mediation.record_session, "已记录调解"),
    "consents": (ConsentCreate, mediation.record_consent, "已记录当事人意见"),
}


def _mediation_body(record: str, posted: dict[str, str]) -> dict[str, Any]:
    typed = {k: v.strip() for k, v in posted.items() if v.strip() and k != "csrf_token"}
    if record == "sessions":
        attendees = [
            {"name": typed.pop(f"attendee_{role}"), "role": role}
            for role in ("complainant", "respondent", "mediator")
            if typed.get(f"attendee_{role}")
        ]
        return {**typed, "attendees": attendees}
    return typed


def _record_mediation(
    *, session: Session, user: User, case_no: str, record: str, body: dict[str, Any]
) -> None:
    model, service, _ = MEDIATION_RECORDS[record]
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    service(session=session, case=case, user=user, body=model.model_validate(body))


CLUE_REPORTED = "已移交违法线索，另登记一件关联举报，由指挥中心受理审查"
CAMPAIGN_SAVED = "专项整治已保存"
# What the case page may say was done (its ?notice=): these only.
NOTICES = {done for _, _, done in (*CLOCK.values(), *MEDIATION_RECORDS.values())} | {
    CLUE_REPORTED,
    CAMPAIGN_SAVED,
}


@router.post("/cases/{case_no}/mediation/{record}", response_class=HTMLResponse)
async def mediation_record(
    request: Request,
    case_no: str,
    record: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Records a mediation session, or a party's consent, as the JSON routes do."""
    if record not in MEDIATION_RECORDS:
        raise NotFound("not_found", f"no mediation record {record}")
    body = _mediation_body(record, posted)
    errors: dict[str, str] = {}
    try:
        await db.run(_record_mediation, user=user, case_no=case_no, record=record, body=body)
        done = MEDIATION_RECORDS[record][2]
        return RedirectResponse(
            f"/cases/{quote(case_no)}?notice={quote(done)}#ladder", status_code=303
        )
    except (ValidationError, DomainError) as error:
        found, general, status = refusal(error)
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        key = "attendee_complainant" if loc[:1] == ["attendees"] else (loc[0] if loc else "")
        errors.setdefault(f"{record}.{key}", field_text(e))
    return await _case_again(
        request,
        db,
        settings,
        user,
        case_no,
        status,
        mediation_errors=errors,
        mediation_typed={f"{record}.{k}": v for k, v in posted.items()},
        mediation_general=general or (labels.ERROR["request.invalid"] if errors else ""),
    )


@router.post("/cases/{case_no}/reports", response_class=HTMLResponse)
async def clue_report(
    request: Request,
    case_no: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
    steps: StepEngineDep,
) -> Response:
    """Opens a report linked to the complaint from a violation clue, as
    ``POST /api/v1/cases/{no}/reports`` does; its form's client_ref opens it once."""
    typed = {k: posted.get(k, "").strip() for k in ("description", "campaign", "client_ref")}
    errors: dict[str, str] = {}
    try:
        if user.role != Role.HANDLER:
            raise NotAllowed("auth.role", "clues are reported by the handling unit")
        body = ClueReport.model_validate({k: v for k, v in typed.items() if v})
        created = await db.run(
            registration.register_clue,
            settings=settings,
            user=user,
            case_no=case_no,
            body=body,
            steps=steps,
        )
        await db.run(
            registration.record_clue, user=user, case_no=case_no, report_no=created.case_no
        )
        return RedirectResponse(
            f"/cases/{quote(case_no)}?notice={quote(CLUE_REPORTED)}#clue",
            status_code=303,
            background=_start_registered(request, db, settings, created.to_start),
        )
    except (ValidationError, DomainError) as error:
        found, general, status = refusal(error)
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        field = loc[0] if loc and loc[0] in typed else "description"
        unknown = "campaign" in str(e.get("msg", ""))
        errors.setdefault(field, "不是现有的专项整治" if unknown else field_text(e))
    return await _case_again(
        request,
        db,
        settings,
        user,
        case_no,
        status,
        clue_errors=errors,
        clue_typed=typed,
        clue_general=general or (labels.ERROR["request.invalid"] if errors else ""),
    )


@router.get("/search")
def search(
    request: Request,
    session: SessionDep,
    user: PageUser,
    no: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    try:
        found = views.find_case(session=session, user=user, case_no=no)
    except DomainError:
        return render(
            request,
            "error.html",
            user,
            404,
            message=f"未找到案件 {no}" if no.strip() else "请输入案件编号",
            code="case.not_found",
        )
    return RedirectResponse(f"/cases/{quote(found)}", status_code=303)


# --- supervision --------------------------------------------------------------------------


@router.get("/supervision", response_class=HTMLResponse)
def supervision_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    board = supervising.dashboard(session=session, settings=settings, user=user)
    return render(request, "supervision.html", user, board=board, rungs=supervising.RUNGS)


@router.get("/supervision/accountability", response_class=HTMLResponse)
def accountability_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    unit: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    found, names = supervising.accountability_list(session=session, user=user, unit=unit, kind=kind)
    return render(request, "accountability.html", user, found=found, names=names)


# The lists behind the dashboard's counts: (heading, the badge's colour).
LATE_LISTS = {"overdue": ("已超期", "overdue"), "due-soon": ("临近到期", "warning")}


@router.get("/supervision/{which}", response_class=HTMLResponse)
def late_list_page(
    request: Request,
    which: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    unit: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The overdue deadlines of a unit, or those due within the warning's working days."""
    if which not in LATE_LISTS:
        raise NotFound("not_found", f"no supervision list {which}")
    heading, css = LATE_LISTS[which]
    rows, count, unit_name = supervising.overdue_rows(
        session=session,
        user=user,
        unit=unit,
        due_soon=which == "due-soon",
        within=settings.escalation_warning_working_days,
    )
    return render(
        request,
        "supervision_list.html",
        user,
        heading=heading,
        rows=rows,
        count=count,
        unit_name=unit_name,
        css=css,
    )


# --- the pages' errors --------------------------------------------------------------------


def is_page(request: Request) -> bool:
    """A request of the workplace (not of the JSON API, the worker's routes or the docs)."""
    path = request.url.path
    return not path.startswith(
        ("/api/", "/internal/", "/healthz", "/metrics", "/docs", "/redoc", "/openapi", "/static")
    )


def sign_in_first(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return RedirectResponse(f"/login?next={quote(error.back)}", status_code=303)


def error_page(request: Request, error: DomainError) -> HTMLResponse:
    """A domain error on a page, as a page in Chinese."""
    user = None
    try:
        user = page_user(request)
    except SignInRequired:
        pass
    return refused(request, user, error)
