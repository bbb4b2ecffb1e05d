"""The station network's pages: the registry (名录) with its filters, a station opened,
edited and closed with its history, and the coverage of each branch; through the same
service as ``/api/v1/stations``."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api import labels
from api.deps import SessionDep
from api.errors import DomainError, Invalid
from api.pages.render import refusal, render
from api.pages.session import PageUser, Posted
from api.stations import routes as api_routes
from api.stations import service
from api.stations.models import (
    Division,
    DivisionLevel,
    Station,
    StationClose,
    StationCreate,
    StationUpdate,
)
from api.units.models import Unit, UnitKind
from api.users.models import Role, User

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
        .where(col(Division.branch).in_(codes), Division.level != DivisionLevel.COUNTY)
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
) -> HTMLResponse:
    changes = service.changes(session=session, user=user, code=station.code) if station else []
    done = service.record(session=session, stations=[station])[station.code] if station else {}
    assessed = service.assessments(session=session, user=user, code=station.code) if station else []
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
