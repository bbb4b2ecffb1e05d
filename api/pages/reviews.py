"""Sector reviews' pages (社会评议): the reviews and (the city's) the form that opens one;
a review with its businesses, its sector's complaints, its findings with their
rectification orders, the form that records a finding (errors beside their fields) and
the report. Through the same service as ``/api/v1/reviews``."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api import labels
from api.casefile.lifecycle import CaseKind
from api.config import Settings
from api.deps import DatabaseDep, SessionDep, SettingsDep, get_temporal
from api.errors import DomainError
from api.monitoring.sheets import attachment
from api.pages.render import field_text, refusal, render
from api.pages.session import PageUser, Posted
from api.reviews import routes as api_routes
from api.reviews import service
from api.reviews.models import FindingIn, ReviewCreate
from api.units.models import Unit, UnitKind
from api.users.models import CITY_UNIT, User

router = APIRouter(include_in_schema=False)


def _errors(error: Exception) -> tuple[dict[str, str], str, int]:
    """Each refused field's reason, in Chinese, beside it."""
    found, general, status = refusal(error)
    errors: dict[str, str] = {}
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        field = loc[0] if loc else "name"
        blank = e.get("type") in ("missing", "string_too_short")
        errors.setdefault(field, field_text(e) if blank else FIELD_WHY.get(field, field_text(e)))
    return errors, general, status


FIELD_WHY = {
    "sector": "没有这个评议行业",
    "ends_on": "结束日期不能早于开始日期或今天",
    "businesses": "每行一个单位：统一社会信用代码 名称（代码须校验正确，不重复）",
    "credit_code": "不是本次评议的被评议单位",
    "point": "不是本行业的评议重点",
    "case_no": "不是本行业的投诉案件",
    "found_on": "发现日期须在评议期间内，且不晚于今天",
    "unit": "没有这个单位",
}


def _units(session: Session) -> dict[str, str]:
    rows = session.exec(
        select(Unit.code, Unit.name).where(
            (Unit.kind == UnitKind.BRANCH) | (Unit.code == CITY_UNIT)
        )
    ).all()
    return dict(rows)


def _list(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: str = "",
) -> HTMLResponse:
    service.readable(user)
    known = api_routes.sectors_of(session=session, settings=settings)
    return render(
        request,
        "reviews.html",
        user,
        status_code,
        reviews=[api_routes.public(session, r, known) for r in service.listed(session)],
        sectors=known,
        keeps=service.keeps(user),
        form=form or {},
        errors=errors or {},
        general=general,
    )


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    return _list(request, session, settings, user)


def _businesses(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        code, _, name = line.strip().partition(" ")
        if code:
            out.append({"credit_code": code, "name": name.strip()})
    return out


@router.post("/reviews", response_class=HTMLResponse)
async def create_review(
    request: Request, db: DatabaseDep, settings: SettingsDep, user: PageUser, posted: Posted
) -> Response:
    body = {
        "code": posted.get("code", "").strip(),
        "sector": posted.get("sector", ""),
        "name": posted.get("name", "").strip(),
        "starts_on": posted.get("starts_on") or None,
        "ends_on": posted.get("ends_on") or None,
        "businesses": _businesses(posted.get("businesses", "")),
    }
    known = await db.run(api_routes.sectors_of, settings=settings)
    try:
        made = await db.run(
            service.create,
            settings=settings,
            user=user,
            body=ReviewCreate.model_validate(body),
            known=known,
        )
    except (ValidationError, DomainError) as error:
        errors, general, status = _errors(error)
        return await db.run(
            _list_of,
            request=request,
            settings=settings,
            user=user,
            status_code=status,
            form=dict(posted),
            errors=errors,
            general=general,
        )
    assert made.case_no is not None
    await api_routes.start(await get_temporal(request), settings, made.case_no, CaseKind.REVIEW)
    return RedirectResponse(f"/reviews/{quote(made.code)}", status_code=303)


def _list_of(*, session: Session, **kwargs: Any) -> HTMLResponse:
    return _list(session=session, **kwargs)


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    code: str,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: str = "",
) -> HTMLResponse:
    unit = service.readable(user)
    known = api_routes.sectors_of(session=session, settings=settings)
    review = service.get(session, code)
    sector = known[review.sector]
    keeps = service.keeps(user)
    return render(
        request,
        "review.html",
        user,
        status_code,
        review=api_routes.public(session, review, known),
        sector=sector,
        findings=api_routes.findings_public(session, review, known, unit),
        complaints=service.complaints(session, user, review, sector) if keeps else [],
        report=api_routes.report_of(session, code, known, user),
        units=_units(session),
        keeps=keeps and service.final_report(session, code) is None,
        form=form or {},
        errors=errors or {},
        general=general,
        notice=request.query_params.get("notice", ""),
    )


@router.get("/reviews/{code}", response_class=HTMLResponse)
def review_page(
    request: Request, code: str, session: SessionDep, settings: SettingsDep, user: PageUser
) -> Response:
    if request.query_params.get("format") == "xlsx":
        found = api_routes.report_of(
            session, code, api_routes.sectors_of(session=session, settings=settings), user
        )
        review = service.get(session, code)
        content = api_routes.workbook(review, found)
        return attachment(content, f"{review.name}评议报告.xlsx", "review.xlsx")
    return _page(request, session, settings, user, code)


@router.post("/reviews/{code}/findings", response_class=HTMLResponse)
async def add_finding(
    request: Request,
    code: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    body = {
        "credit_code": posted.get("credit_code", ""),
        "point": posted.get("point", ""),
        "description": posted.get("description", "").strip(),
        "case_no": posted.get("case_no") or None,
        "unit": posted.get("unit") or None,
        "found_on": posted.get("found_on") or None,
    }
    known = await db.run(api_routes.sectors_of, settings=settings)
    try:
        made = await db.run(
            service.add_finding,
            settings=settings,
            user=user,
            code=code,
            body=FindingIn.model_validate(body),
            known=known,
        )
    except (ValidationError, DomainError) as error:
        errors, general, status = _errors(error)
        if isinstance(error, DomainError) and error.code == "reviews.finding_exists":
            errors["case_no"], general = labels.error(error.code), ""
        return await db.run(
            _page_of,
            request=request,
            settings=settings,
            user=user,
            code=code,
            status_code=status,
            form=dict(posted),
            errors=errors,
            general=general,
        )
    assert made.order_no is not None
    temporal = await get_temporal(request)
    await api_routes.start(temporal, settings, made.order_no, CaseKind.REVIEW_ORDER)
    return RedirectResponse(f"/reviews/{quote(code)}?notice=found#findings", status_code=303)


def _page_of(*, session: Session, **kwargs: Any) -> HTMLResponse:
    return _page(session=session, **kwargs)
