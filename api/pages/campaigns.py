"""The special campaigns' pages (专项整治): every campaign with each branch's progress,
one campaign with what each quarter's end found and (the admin's) its form, and the
year's campaigns started by hand; through the same service as ``/api/v1/campaigns``."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api import labels
from api.campaigns import routes as api_routes
from api.campaigns import service
from api.campaigns.models import CampaignUpdate
from api.casefile import service as casefile
from api.db import utcnow
from api.deps import DatabaseDep, SessionDep, SettingsDep, get_temporal
from api.errors import DomainError
from api.pages.render import refusal, render
from api.pages.routes import CAMPAIGN_SAVED
from api.pages.session import PageUser, Posted
from api.units.models import Unit, UnitKind
from api.users.models import Role, User
from api.workdays import local_date

router = APIRouter(include_in_schema=False)


def _branches(session: Session) -> dict[str, str]:
    return dict(
        session.exec(select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH)).all()
    )


def _starts(user: User) -> bool:
    return user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.city_wide)


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    branch = service.readable(user)
    error = request.query_params.get("error", "")
    return render(
        request,
        "campaigns.html",
        user,
        campaigns=[api_routes.public(session, c, branch) for c in service.listed(session)],
        names=_branches(session),
        starts=_starts(user),
        this_year=local_date(utcnow()).year,
        error=labels.error(error) if error in labels.ERROR else "",
    )


@router.post("/campaigns/years")
async def start_year(
    request: Request, db: DatabaseDep, settings: SettingsDep, user: PageUser, posted: Posted
) -> Response:
    """Starts the year's campaigns, as ``POST /api/v1/campaigns/years`` does."""
    try:
        year = int(posted.get("year", "") or 0)
        await api_routes.open_year(db, await get_temporal(request), settings, user, year)
    except ValueError:
        return RedirectResponse("/campaigns?error=request.invalid", status_code=303)
    except DomainError as error:
        return RedirectResponse(f"/campaigns?error={error.code}", status_code=303)
    return RedirectResponse("/campaigns?notice=started", status_code=303)


def _page(
    request: Request,
    session: Session,
    user: User,
    code: str,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: str = "",
) -> HTMLResponse:
    branch = service.readable(user)
    campaign = service.get(session, code)
    shown = api_routes.public(session, campaign, branch)
    names = _branches(session)
    stops = service.checkpoints(session, code)
    return render(
        request,
        "campaign.html",
        user,
        status_code,
        campaign=shown,
        names=names,
        stops=[(s, {k: v for k, v in s.results.items() if branch in (None, k)}) for s in stops],
        changes=service.changes(session, code),
        keeps=user.role == Role.ADMIN,
        form=form
        or {
            "name": shown.name,
            "categories": "、".join(shown.categories),
            "starts_on": shown.starts_on.isoformat(),
            "ends_on": shown.ends_on.isoformat(),
            "counted": shown.counted,
            **{f"quota.{b}": str(shown.quotas.get(b, "")) for b in names},
        },
        errors=errors or {},
        general=general,
    )


@router.get("/campaigns/{code}", response_class=HTMLResponse)
def campaign_page(request: Request, code: str, session: SessionDep, user: PageUser) -> Response:
    if request.query_params.get("format") == "xlsx":
        branch = service.readable(user)
        found = api_routes.public(session, service.get(session, code), branch)
        return api_routes.workbook(found, _branches(session))
    return _page(request, session, user, code)


@router.post("/campaigns/{code}", response_class=HTMLResponse)
def save_campaign(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    """The admin saves the campaign from the version read; errors beside their fields."""
    names = _branches(session)
    body: dict[str, Any] = {
        "name": posted.get("name", "").strip(),
        "categories": [
            c.strip()
            for c in posted.get("categories", "").replace(",", "、").split("、")
            if c.strip()
        ],
        "starts_on": posted.get("starts_on") or None,
        "ends_on": posted.get("ends_on") or None,
        "counted": bool(posted.get("counted")),
        "quotas": {
            b: posted.get(f"quota.{b}", "").strip()
            for b in names
            if posted.get(f"quota.{b}", "").strip()
        },
        "version": posted.get("version") or 0,
    }
    try:
        service.update(
            session=session, user=user, code=code, body=CampaignUpdate.model_validate(body)
        )
    except (ValidationError, DomainError) as error:
        session.rollback()
        found, general, status = refusal(error)
        errors: dict[str, str] = {}
        for e in found:
            loc = [str(p) for p in e.get("loc", []) if p != "body"]
            field = "quota." + loc[1] if loc[:1] == ["quotas"] and len(loc) > 1 else ".".join(loc)
            text = e.get("message") or labels.FIELD_ERROR.get(str(e.get("type")), "填写有误")
            errors.setdefault(field or "name", str(text))
        form = {k: v for k, v in posted.items()}
        return _page(request, session, user, code, status, form, errors, general)
    return RedirectResponse(f"/campaigns/{code}?notice=saved", status_code=303)


@router.post("/cases/{case_no}/campaign")
def tag_case(case_no: str, session: SessionDep, user: PageUser, posted: Posted) -> Response:
    """Tags the report to a campaign, or untags it, as ``PUT /api/v1/cases/{no}/campaign``."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    service.tag(session=session, user=user, case=case, campaign=posted.get("campaign") or None)
    done = quote(CAMPAIGN_SAVED)
    return RedirectResponse(f"/cases/{quote(case_no)}?notice={done}#campaign", status_code=303)
