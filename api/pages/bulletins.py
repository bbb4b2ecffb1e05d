"""The bulletin's pages (通报): the list of bulletins, and one month's, as published or, for
the city supervisors, as a draft they edit and publish, or as figures computed now before
the month has one. Each shows the ranking, a chart of each branch's on-time and
satisfaction rates, and the city's twelve-month trend, drawn on the server as SVG."""

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api import labels, process
from api.bulletins import figures, service
from api.bulletins import routes as api_routes
from api.bulletins.figures import Month
from api.bulletins.models import Bulletin
from api.db import utcnow
from api.deps import DatabaseDep, SessionDep, SettingsDep, get_temporal
from api.errors import Conflict, DomainError, NotAllowed, NotFound
from api.inbox import service as inbox
from api.pages import charts
from api.pages.render import field_text, refusal, render
from api.pages.session import PageUser, Posted
from api.tasks import service as tasks
from api.tasks.models import TaskKind
from api.units.models import Unit, UnitKind
from api.users.models import Role, User
from api.workdays import local_date

router = APIRouter(include_in_schema=False)
READERS = (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
TREND_MONTHS = 12
# The ranking table's columns after the rank and the unit.
COLUMNS = (
    "on_time_rate",
    "satisfaction_rate",
    "reply_rate",
    "valid_callback_rate",
    "received",
    "closed",
    "handled",
    "overdue",
    "supervised",
    "criticised",
    "agreements_administrative",
    "agreements_people",
    "amount_recovered",
)
# Blank rows the draft's form offers for criticisms to add.
NEW_CRITICISMS = 3


def _reader(user: User) -> None:
    if user.role not in READERS:
        raise NotAllowed("auth.role", "the bulletin is for supervisors, auditors and admins")


def _recent(today_month: Month, n: int) -> list[Month]:
    months = [today_month]
    while len(months) < n:
        months.append(months[-1].before())
    return months


def _today() -> Any:
    return local_date(utcnow())


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    _reader(user)
    today = _today()
    current = Month(today.year, today.month)
    city = service.city_supervisor(user)
    listed = service.listed(session=session, drafts=city)
    opened = {b.month for b in listed}
    return render(
        request,
        "bulletins.html",
        user,
        listed=listed,
        city=city,
        # Past months without a bulletin yet: the city supervisor may start one by hand.
        startable=[m for m in _recent(current.before(), TREND_MONTHS) if str(m) not in opened],
        months=_recent(current, TREND_MONTHS + 1) if city else [],
        current=current,
        error=labels.error(request.query_params["error"])
        if request.query_params.get("error") in labels.ERROR
        else "",
    )


@router.post("/bulletins")
async def start_bulletin(
    request: Request, db: DatabaseDep, settings: SettingsDep, user: PageUser, posted: Posted
) -> Response:
    """Starts a past month's bulletin by hand, as ``POST /api/v1/bulletins`` does."""
    service.ensure_city_supervisor(user)
    try:
        month = api_routes.requested(posted.get("month", ""), "body")
        service.over(month, _today())
        await db.run(service.open_month, settings=settings, month=month, actor=user.username)
    except DomainError as error:
        return RedirectResponse(f"/bulletins?error={error.code}", status_code=303)
    client = await get_temporal(request)
    await api_routes.start_monthly(client, settings, month)
    return RedirectResponse(f"/bulletins/{month}", status_code=303)


def _trend(session: Session, month: Month) -> Any:
    months = list(reversed(_recent(month, TREND_MONTHS)))
    on_time, satisfaction = [], []
    for m in months:
        city = figures.with_rates(figures.city(figures.month_counts(session, m)))
        on_time.append(city["on_time_rate"])
        satisfaction.append(city["satisfaction_rate"])
    return charts.line_chart(
        "chart-trend",
        "全市按期办结率和满意率（近12个月）",
        [m.label for m in months],
        [charts.Series("按期办结率", on_time), charts.Series("满意率", satisfaction)],
    )


@dataclass
class Shown:
    """A month's page: a version of its bulletin, or (``bulletin`` None) figures now."""

    month: Month
    found: dict[str, Any]
    bulletin: Bulletin | None
    versions: list[Bulletin]
    city: bool  # a city supervisor is looking: drafts and figures now are theirs
    task_id: int | None = None  # the draft's review task, open
    superseded_by: Bulletin | None = None


def _shown(session: Session, settings: Any, user: User, month: Month, version: int | None) -> Shown:
    city = service.city_supervisor(user)
    versions = [b for b in service.of_month(session=session, month=month) if b.published_at or city]
    if version is not None:
        chosen = next((b for b in versions if b.version == version), None)
        if chosen is None:
            raise NotFound("bulletin.not_found", f"{month} has no version {version}")
    else:
        published = [b for b in versions if b.published_at]
        chosen = published[-1] if published else (versions[-1] if versions else None)
    if chosen is None:
        if not city:
            raise NotFound("bulletin.not_published", f"the bulletin of {month} is not published")
        found = figures.compute(session, month, min_cases=settings.bulletin_min_cases)
        return Shown(month, found, None, versions, city)
    task = next(
        (
            t
            for t in tasks.active(session=session, case_no=chosen.case_no)
            if t.kind == TaskKind.REVIEW_BULLETIN
        ),
        None,
    )
    return Shown(
        month,
        chosen.figures,
        chosen,
        versions,
        city,
        task_id=task.id if task else None,
        superseded_by=service.superseded_by(session=session, bulletin=chosen),
    )


@router.get("/bulletins/{month}")
def bulletin_page(
    request: Request,
    month: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int | None, Query(ge=1)] = None,
    format: Annotated[Literal["html", "xlsx", "pdf"], Query()] = "html",
) -> Response:
    """The month's bulletin as published (its latest version, or ``?version=``); for the
    city supervisors, its draft, or the figures computed now when it has none.
    ``?format=xlsx`` the spreadsheet, ``?format=pdf`` the document."""
    _reader(user)
    wanted = _parse(month)
    shown = _shown(session, settings, user, wanted, version)
    if format != "html":
        if shown.bulletin is not None:
            return api_routes.download(settings, shown.bulletin, format)
        live: Response = api_routes.get_figures(str(wanted), session, settings, user, format)
        return live
    return _page(request, session, user, shown)


def _parse(month: str) -> Month:
    try:
        return Month.requested(month, _today())
    except ValueError as error:
        raise NotFound("bulletin.not_found", str(error)) from error


def _page(
    request: Request,
    session: Session,
    user: User,
    shown: Shown,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    general: str = "",
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    found = shown.found
    names = [b["name"] for b in found["branches"]]
    by_branch = charts.bar_chart(
        "chart-branches",
        "各单位按期办结率和满意率",
        names,
        [
            charts.Series("按期办结率", [b["on_time_rate"] for b in found["branches"]]),
            charts.Series("满意率", [b["satisfaction_rate"] for b in found["branches"]]),
        ],
    )
    bulletin = shown.bulletin
    editable = bulletin is not None and bulletin.published_at is None and shown.city
    branches = session.exec(
        select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH).order_by(Unit.code)
    ).all()
    draft = typed or (
        {"foreword": "\n\n".join(bulletin.foreword), "criticisms": bulletin.criticisms}
        if bulletin is not None
        else {}
    )
    return render(
        request,
        "bulletin.html",
        user,
        status_code,
        month=shown.month,
        found=found,
        shown=shown,
        bulletin=bulletin,
        editable=editable,
        draft=draft,
        new_rows=range(NEW_CRITICISMS),
        branches=branches,
        unit_names=dict(branches),
        dated=labels.day(date.fromisoformat(bulletin.dated)) if bulletin and bulletin.dated else "",
        errors=errors or {},
        general=general,
        complete=shown.month.last < _today(),
        columns=COLUMNS,
        names=figures.NAMES,
        rates=figures.RATES,
        by_branch=by_branch,
        trend=_trend(session, shown.month),
    )


def _draft_body(posted: dict[str, str]) -> dict[str, Any]:
    """The form's draft as ``PUT /api/v1/bulletins/{month}/draft`` takes it: paragraphs
    split on blank lines, the criticisms kept (ticked) and those added (filled in)."""
    paragraphs = [p.strip() for p in posted.get("foreword", "").replace("\r", "").split("\n\n")]
    listed = []
    i = 0
    while f"c{i}.unit" in posted:
        if posted.get(f"c{i}.keep"):
            listed.append(
                {
                    "unit": posted[f"c{i}.unit"],
                    "reason": posted.get(f"c{i}.reason", ""),
                    "case_no": posted.get(f"c{i}.case_no") or None,
                }
            )
        i += 1
    for n in range(NEW_CRITICISMS):
        unit, reason = posted.get(f"new{n}.unit", ""), posted.get(f"new{n}.reason", "").strip()
        if unit or reason:
            listed.append(
                {"unit": unit, "reason": reason, "case_no": posted.get(f"new{n}.case_no") or None}
            )
    return {"foreword": [p for p in paragraphs if p], "criticisms": listed}


@router.post("/bulletins/{month}/draft", response_class=HTMLResponse)
async def save_draft(
    request: Request,
    month: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Saves the draft (``action=save``), or saves and publishes it (``action=publish``:
    the review task completed, as ``POST /api/v1/tasks/{id}/complete`` does)."""
    service.ensure_city_supervisor(user)
    wanted = _parse(month)
    body = _draft_body(posted)
    try:
        draft = service.DraftIn.model_validate(body)
        saved = await db.run(_save, month=wanted, body=draft, actor=user)
        if posted.get("action") == "publish":
            task_id = await db.run(_review_task, case_no=saved.case_no)
            decide = partial(
                inbox.completion,
                settings=settings,
                user=user,
                task_id=task_id,
                body={"decision": "publish"},
            )
            client = await get_temporal(request)
            await process.submit(db=db, client=client, settings=settings, decide=decide)
            return RedirectResponse(f"/bulletins/{wanted}?version={saved.version}", status_code=303)
    except (ValidationError, DomainError) as error:
        shown = await db.run(_shown_of, settings=settings, user=user, month=wanted)
        found, general, status = refusal(error)
        errors = {_field_of(e): field_text(e) for e in found}
        return await db.run(
            _page_of,
            request=request,
            user=user,
            shown=shown,
            status_code=status,
            errors=errors,
            general=general or labels.ERROR["request.invalid"],
            typed={"foreword": posted.get("foreword", ""), "criticisms": body["criticisms"]},
        )
    return RedirectResponse(f"/bulletins/{wanted}?saved=1", status_code=303)


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    return ".".join(loc)


def _save(*, session: Session, month: Month, body: service.DraftIn, actor: User) -> Bulletin:
    draft = api_routes.open_draft(session, month)
    return service.edit(session=session, bulletin=draft, body=body, actor=actor.username)


def _review_task(*, session: Session, case_no: str) -> int:
    for task in tasks.active(session=session, case_no=case_no):
        if task.kind == TaskKind.REVIEW_BULLETIN and task.id is not None:
            return task.id
    raise Conflict("task.not_current", f"{case_no} has no review task open")


def _shown_of(*, session: Session, settings: Any, user: User, month: Month) -> Shown:
    return _shown(session, settings, user, month, None)


def _page_of(*, session: Session, request: Request, user: User, shown: Shown, **kw: Any) -> Any:
    return _page(request, session, user, shown, **kw)


@router.post("/bulletins/{month}/corrections")
async def correct(
    request: Request,
    month: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """A correction (更正) of the month's published bulletin: a new draft that cites it."""
    service.ensure_city_supervisor(user)
    wanted = _parse(month)
    reason = posted.get("reason", "").strip()
    if not reason:
        return RedirectResponse(f"/bulletins/{wanted}?error=request.invalid", status_code=303)
    try:
        opened = await db.run(
            service.open_correction,
            settings=settings,
            month=wanted,
            reason=reason,
            actor=user.username,
        )
    except DomainError as error:
        return RedirectResponse(f"/bulletins/{wanted}?error={error.code}", status_code=303)
    client = await get_temporal(request)
    await process.ensure_started(
        client=client, settings=settings, case_no=opened.case_no, kind="bulletin"
    )
    return RedirectResponse(f"/bulletins/{wanted}?version={opened.version}", status_code=303)
