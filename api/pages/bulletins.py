"""The bulletin's pages (通报): the months, and one month's figures with its ranking, a
chart of each branch's on-time and satisfaction rates, and the city's twelve-month trend,
drawn on the server as SVG."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.bulletins import document, figures, workbook
from api.db import utcnow
from api.deps import SessionDep, SettingsDep
from api.errors import NotAllowed, NotFound
from api.pages import charts
from api.pages.render import render
from api.pages.session import PageUser
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


def _reader(user: User) -> None:
    if user.role not in READERS:
        raise NotAllowed("auth.role", "the bulletin is for supervisors, auditors and admins")


def _recent(today_month: figures.Month, n: int) -> list[figures.Month]:
    months = [today_month]
    while len(months) < n:
        months.append(months[-1].before())
    return months


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(request: Request, user: PageUser) -> HTMLResponse:
    _reader(user)
    today = local_date(utcnow())
    months = _recent(figures.Month(today.year, today.month), TREND_MONTHS + 1)
    return render(request, "bulletins.html", user, months=months, current=months[0])


def _trend(session: Session, month: figures.Month) -> Any:
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


@router.get("/bulletins/{month}")
def bulletin_page(
    request: Request,
    month: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    format: Annotated[Literal["html", "xlsx", "pdf"], Query()] = "html",
) -> Response:
    """A month's figures, computed now (a month not over says so); ``?format=xlsx`` the
    spreadsheet, as ``GET /api/v1/bulletins/{month}/figures?format=xlsx``."""
    _reader(user)
    today = local_date(utcnow())
    try:
        wanted = figures.Month.requested(month, today)
    except ValueError as error:
        raise NotFound("bulletin.not_found", str(error)) from error
    found = figures.compute(session, wanted, min_cases=settings.bulletin_min_cases)
    if format == "xlsx":
        return workbook.download(session, wanted, found)
    if format == "pdf":
        return document.pdf_download(session, settings, wanted, found)
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
    return render(
        request,
        "bulletin.html",
        user,
        month=wanted,
        found=found,
        complete=wanted.last < today,
        columns=COLUMNS,
        names=figures.NAMES,
        rates=figures.RATES,
        by_branch=by_branch,
        trend=_trend(session, wanted),
    )
