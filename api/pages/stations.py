"""The station network's pages: the registry (名录) with its filters, a station opened,
edited and closed with its history, and the coverage of each branch; through the same
service as ``/api/v1/stations``."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api import labels
from api.db import utcnow
from api.deps import DatabaseDep, SessionDep, SettingsDep, get_temporal
from api.errors import DomainError, Invalid
from api.pages.render import refusal, render
from api.pages.session import PageUser, Posted
from api.stations import duties, service
from api.stations import routes as api_routes
from api.stations.models import (
    AssessmentIn,
    Division,
    DivisionLevel,
    Station,
    StationClose,
    StationCreate,
    StationUpdate,
)
from api.units.models import Unit, UnitKind
from api.users.models import Role, User
from api.workdays import local_date

router = APIRouter(include_in_schema=False)
TYPES = api_routes.TYPE_NAMES
HOSTS = api_routes.HOST_NAMES
FIELDS = (
    "code",
    "name",
    "type",
    "five_in",
    "branch",
    "township",
    "village",
    "host_name",
    "host_credit_code",
    "opened_on",
    "unit",
)
CONTACT_ROWS = 2
# The fields as the history names what changed.
FIELD_NAMES = {
    "name": "名称",
    "type": "类型",
    "five_in": "五进",
    "branch": "单位",
    "township": "乡镇（街道）",
    "village": "村（社区）",
    "host_name": "依托经营者",
    "host_credit_code": "统一社会信用代码",
    "contacts": "联系人",
    "opened_on": "设立日期",
    "demonstration": "示范点",
    "unit": "工作台单位",
}


def _keeps(user: User) -> bool:
    return user.role == Role.ADMIN or user.role == Role.SUPERVISOR


def _choices(session: Session, user: User) -> dict[str, Any]:
    """What the form offers: the branches the person keeps, their townships and villages
    (each under its township), and the station units."""
    seen = None if user.city_wide else user.unit
    branches = [
        (code, name)
        for code, name in session.exec(
            select(Unit.code, Unit.name)
            .where(Unit.kind == UnitKind.BRANCH)
            .order_by(col(Unit.code))
        ).all()
        if seen in (None, code)
    ]
    codes = [code for code, _ in branches]
    found = session.exec(
        select(Division)
        .where(
            col(Division.branch).in_(codes),
            Division.level != DivisionLevel.COUNTY,
            col(Division.retired_on).is_(None),
        )
        .order_by(col(Division.code))
    ).all()
    towns = [d for d in found if d.level == DivisionLevel.TOWNSHIP]
    villages: dict[str, list[Division]] = {}
    for d in found:
        if d.level == DivisionLevel.VILLAGE:
            villages.setdefault(d.township_code or "", []).append(d)
    units = session.exec(
        select(Unit.code, Unit.name).where(Unit.kind == UnitKind.STATION).order_by(col(Unit.code))
    ).all()
    return {
        "branches": branches,
        "branch_names": dict(branches),
        "towns": towns,
        "villages": villages,
        "station_units": units,
        "types": TYPES,
        "hosts": HOSTS,
        "contact_rows": range(CONTACT_ROWS),
        "field_names": FIELD_NAMES,
    }


def _posted_body(posted: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {k: posted.get(k, "").strip() or None for k in FIELDS}
    body["demonstration"] = bool(posted.get("demonstration"))
    body["contacts"] = [
        {
            "name": posted.get(f"contact{i}.name", "").strip(),
            "phone": posted.get(f"contact{i}.phone", "").strip(),
            "role": posted.get(f"contact{i}.role", "").strip() or None,
        }
        for i in range(CONTACT_ROWS)
        if posted.get(f"contact{i}.name", "").strip() or posted.get(f"contact{i}.phone", "").strip()
    ]
    return body


def _errors(error: Exception) -> tuple[dict[str, str], str, int]:
    """A refused form: each error beside its field, in Chinese."""
    found, general, status = refusal(error)
    code = error.code if isinstance(error, DomainError) else "request.invalid"
    errors: dict[str, str] = {}
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        field = loc[0] if loc else "name"
        if field == "contacts" and len(loc) >= 3:
            field = f"contact{loc[1]}.{loc[2]}"
        if code != "request.invalid":
            text = labels.error(code)
        elif field == "host_credit_code":
            text = "统一社会信用代码有误（18位，校验位不符）"
        else:
            text = labels.FIELD_ERROR.get(str(e.get("type")), "填写有误")
        errors.setdefault(field, text)
    if isinstance(error, DomainError) and not isinstance(error, Invalid):
        field = "code" if error.code == "stations.taken" else ""
        if field:
            errors[field] = labels.error(error.code)
            general = ""
    return errors, general or (labels.ERROR["request.invalid"] if errors else ""), status


def _as_form(session: Session, station: Station) -> dict[str, Any]:
    return service.public(session, station).model_dump(mode="json")


@router.get("/stations", response_class=HTMLResponse)
def stations_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    branch: str | None = None,
    closed: bool = False,
) -> HTMLResponse:
    found = service.listed(session=session, user=user, branch=branch or None, open_only=not closed)
    return render(
        request,
        "stations.html",
        user,
        stations=service.publics(session, found),
        chosen_branch=branch or "",
        closed=closed,
        keeps=_keeps(user),
        **_choices(session, user),
    )


@router.get("/stations/new", response_class=HTMLResponse)
def new_station_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    service.readable_branch(user, None)
    return _form(request, session, user, None, {"opened_on": "", "contacts": []})


def _form(
    request: Request,
    session: Session,
    user: User,
    station: Station | None,
    form: dict[str, Any],
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    general: str = "",
    assessing: dict[str, str] | None = None,
) -> HTMLResponse:
    changes = service.changes(session=session, user=user, code=station.code) if station else []
    done = service.record(session=session, stations=[station])[station.code] if station else {}
    assessed = service.assessments(session=session, user=user, code=station.code) if station else []
    rectified = duties.rectifications(session=session, station=station.code) if station else []
    return render(
        request,
        "station.html",
        user,
        status_code,
        station=service.public(session, station) if station else None,
        form=form,
        errors=errors or {},
        general=general,
        changes=changes,
        done=done,
        assessed=assessed,
        rectified=rectified,
        checklist=service.checklist_of(session=session, settings=request.app.state.settings),
        assessing=assessing or {"year": str(local_date(utcnow()).year)},
        assessing_failed=any(k.startswith("assess.") for k in errors or {}),
        keeps=_keeps(user),
        **_choices(session, user),
    )


@router.post("/stations/new", response_class=HTMLResponse)
def create_station(
    request: Request, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    body = _posted_body(posted)
    try:
        made = service.create(session=session, user=user, body=StationCreate.model_validate(body))
    except (ValidationError, DomainError) as error:
        session.rollback()
        errors, general, status = _errors(error)
        return _form(request, session, user, None, body, status, errors, general)
    return RedirectResponse(f"/stations/{made.code}?notice=opened", status_code=303)


@router.get("/stations/coverage", response_class=HTMLResponse)
def coverage_page(
    request: Request, session: SessionDep, user: PageUser, branch: str | None = None
) -> Response:
    found = service.coverage(session=session, user=user, branch=branch or None)
    if request.query_params.get("format") == "xlsx":
        return api_routes.coverage_xlsx(found)
    return render(
        request,
        "coverage.html",
        user,
        found=found,
        types=TYPES,
        hosts=HOSTS,
        chosen_branch=branch or "",
        **{k: v for k, v in _choices(session, user).items() if k == "branches"},
    )


# --- demonstration sites (示范点) -------------------------------------------------------------


@router.get("/stations/demonstrations", response_class=HTMLResponse)
def demonstrations_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
) -> HTMLResponse:
    """Each branch's demonstration-site list of the year, and (city supervisors) the year
    started by hand."""
    this_year = local_date(utcnow()).year
    shown = year or this_year
    branch = service.readable_branch(user, None)
    found = duties.demonstrations(session=session, year=shown, branch=branch)
    codes = [code for listed, _ in found for code in listed.sites.values()]
    names = dict(
        session.exec(select(Station.code, Station.name).where(col(Station.code).in_(codes))).all()
    )
    error = request.query_params.get("error", "")
    return render(
        request,
        "demonstrations.html",
        user,
        found=found,
        year=shown,
        this_year=this_year,
        names=names,
        hosts=HOSTS,
        unit_names=_unit_names(session),
        starts=user.role == Role.SUPERVISOR and user.city_wide,
        error=labels.error(error) if error in labels.ERROR else "",
    )


@router.post("/stations/demonstrations")
async def start_demonstrations(
    request: Request, db: DatabaseDep, settings: SettingsDep, user: PageUser, posted: Posted
) -> Response:
    """Gives every branch its list of the year, as ``POST /api/v1/stations/demonstrations``."""
    try:
        year = int(posted.get("year", "") or 0)
        await api_routes.start_year(db, await get_temporal(request), settings, user, year)
    except ValueError:
        return RedirectResponse("/stations/demonstrations?error=request.invalid", status_code=303)
    except DomainError as error:
        return RedirectResponse(f"/stations/demonstrations?error={error.code}", status_code=303)
    return RedirectResponse(f"/stations/demonstrations?year={year}", status_code=303)


def _unit_names(session: Session) -> dict[str, str]:
    return {u.code: u.name for u in session.exec(select(Unit)).all()}


@router.post("/stations/{code}/assessments", response_class=HTMLResponse)
async def assess_station(
    request: Request,
    code: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Records an assessment from the checklist's form, as the JSON route does; a refusal
    shows the form again with what was typed, each error beside its item."""
    checklist = await db.run(service.checklist_of, settings=settings)
    body: dict[str, Any] = {
        "year": posted.get("year", "").strip() or None,
        "assessed_on": posted.get("assessed_on", "").strip() or None,
        "note": posted.get("note", "").strip() or None,
        "scores": {
            item: posted.get(f"score.{item}", "").strip() or None for item in checklist.items
        },
    }
    try:
        done = await api_routes.assess(
            db,
            await get_temporal(request),
            settings,
            user,
            code,
            AssessmentIn.model_validate(body),
        )
    except (ValidationError, DomainError) as error:
        errors, general, status = _assessment_errors(error)
        return await db.run(
            _station_form,
            request=request,
            user=user,
            code=code,
            status_code=status,
            assessing=posted,
            errors=errors,
            general=general,
        )
    notice = "assessed" if done.passed else "to_rectify"
    return RedirectResponse(f"/stations/{code}?notice={notice}", status_code=303)


def _assessment_errors(error: Exception) -> tuple[dict[str, str], str, int]:
    """The assessment's errors beside its fields: ``assess.year``, ``assess.score.<item>``."""
    found, general, status = refusal(error)
    errors: dict[str, str] = {}
    code = error.code if isinstance(error, DomainError) else "request.invalid"
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        field = ".".join(loc) if loc else "year"
        if code != "request.invalid":
            text = labels.error(code)
        else:
            text = labels.FIELD_ERROR.get(str(e.get("type")), "填写有误")
        errors.setdefault(f"assess.{field.replace('scores.', 'score.')}", text)
    return errors, general or (labels.ERROR["request.invalid"] if errors else ""), status


def _station_form(
    *,
    session: Session,
    request: Request,
    user: User,
    code: str,
    status_code: int,
    assessing: dict[str, str],
    errors: dict[str, str],
    general: str,
) -> HTMLResponse:
    station = service.get(session=session, user=user, code=code)
    return _form(
        request,
        session,
        user,
        station,
        _as_form(session, station),
        status_code,
        errors,
        general,
        assessing=assessing,
    )


@router.get("/stations/{code}", response_class=HTMLResponse)
def station_page(request: Request, code: str, session: SessionDep, user: PageUser) -> HTMLResponse:
    station = service.get(session=session, user=user, code=code)
    return _form(request, session, user, station, _as_form(session, station))


@router.post("/stations/{code}", response_class=HTMLResponse)
def update_station(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    station = service.get(session=session, user=user, code=code)
    body = _posted_body(posted)
    body.pop("code")
    try:
        body["version"] = int(posted.get("version", "0") or 0)
        service.update(
            session=session, user=user, code=code, body=StationUpdate.model_validate(body)
        )
    except (ValidationError, DomainError) as error:
        session.rollback()
        errors, general, status = _errors(error)
        return _form(request, session, user, station, body, status, errors, general)
    return RedirectResponse(f"/stations/{code}?notice=saved", status_code=303)


@router.post("/stations/{code}/close", response_class=HTMLResponse)
def close_station(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    station = service.get(session=session, user=user, code=code)
    try:
        body = StationClose.model_validate(
            {
                "closed_on": posted.get("closed_on") or None,
                "reason": posted.get("reason", ""),
                "version": int(posted.get("version", "0") or 0),
            }
        )
        service.close(session=session, user=user, code=code, body=body)
    except (ValidationError, DomainError) as error:
        session.rollback()
        errors, general, status = _errors(error)
        form = _as_form(session, station)
        closing = {f"close.{k}": v for k, v in errors.items()}
        return _form(request, session, user, station, form, status, closing, general)
    return RedirectResponse(f"/stations/{code}?notice=closed", status_code=303)
