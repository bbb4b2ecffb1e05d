"""The admin's pages: the working calendar, the rule sets and the users."""

import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from api import labels
from api.calendar import service as calendars
from api.db import utcnow
from api.deps import DatabaseDep, SessionDep, SettingsDep, get_temporal
from api.errors import DomainError, Invalid, NotAllowed
from api.pages import views
from api.pages.render import render
from api.pages.session import PageUser, Posted
from api.users.models import Role, User
from api.workdays import ZONE

router = APIRouter(include_in_schema=False)


# --- the admin: the working calendar -------------------------------------------------------


def _admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise NotAllowed("auth.role", "the calendar is kept by the admin")


def _days(text: str, field: str, errors: dict[str, str]) -> list[date]:
    """One date a line (2027-10-01), or a range (2027-10-01 至 2027-10-07)."""
    found: list[date] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            parts = [date.fromisoformat(p.strip()) for p in re.split(r"至|~|－|—", line)]
        except ValueError:
            errors.setdefault(field, f"第 {number} 行不是日期（应如 2027-10-01）：{line}")
            continue
        first, last = parts[0], parts[-1]
        while first <= last:
            found.append(first)
            first += timedelta(days=1)
    return found


@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    year: Annotated[int | None, Query(ge=2004, le=2100)] = None,
) -> HTMLResponse:
    _admin(user)
    shown = year or utcnow().astimezone(ZONE).year + 1
    current = calendars.in_force(session=session, year=shown)
    return render(
        request,
        "calendar.html",
        user,
        year=shown,
        current=current,
        holidays="\n".join(d.isoformat() for d in current.holidays),
        workdays="\n".join(d.isoformat() for d in current.workdays),
        errors={},
        moved=None,
        saved=None,
    )


@router.post("/admin/calendar/{year}", response_class=HTMLResponse)
async def calendar_submit(
    request: Request,
    year: Annotated[int, PathParam(ge=2004, le=2100)],
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """预览: the open deadlines the arrangement would move, nothing saved; 保存: saves it
    and sends those deadlines to be recomputed, as PUT /api/v1/calendar/{year} does."""
    _admin(user)
    errors: dict[str, str] = {}
    holidays = _days(posted.get("holidays", ""), "holidays", errors)
    workdays = _days(posted.get("workdays", ""), "workdays", errors)
    moved = saved = None
    status = 200
    if not errors:
        try:
            if posted.get("action") == "save":

                async def temporal() -> Any:
                    return await get_temporal(request)

                saved = await calendars.apply_year(
                    db=db,
                    temporal=temporal,
                    settings=settings,
                    user=user,
                    year=year,
                    holidays=holidays,
                    workdays=workdays,
                )
            else:
                moved = await db.run(
                    calendars.preview, year=year, holidays=holidays, workdays=workdays
                )
        except Invalid as error:
            for e in error.detail if isinstance(error.detail, list) else []:
                loc = [str(p) for p in e.get("loc", []) if p != "body"]
                field = loc[0] if loc else "holidays"
                index = int(loc[1]) if len(loc) > 1 and loc[1].isdigit() else None
                days = holidays if field == "holidays" else workdays
                bad = days[index].isoformat() if index is not None and index < len(days) else ""
                errors.setdefault(field, f"{bad} {_calendar_message(str(e.get('msg', '')))}")
        except DomainError as error:
            errors["holidays"] = labels.error(error.code)
    if errors:
        status = 422
    current = await db.run(calendars.in_force, year=year)
    return render(
        request,
        "calendar.html",
        user,
        status,
        year=year,
        current=current,
        holidays=posted.get("holidays", ""),
        workdays=posted.get("workdays", ""),
        errors=errors,
        moved=moved,
        saved=saved,
        names=await db.run(views.unit_names),
    )


def _calendar_message(message: str) -> str:
    """The calendar's own checks, in Chinese."""
    for english, chinese in (
        ("Saturday or Sunday", "调休上班日须是周六或周日"),
        ("not in", "不在该年度内"),
        ("twice", "重复"),
        ("both", "不能既是假日又是调休上班日"),
    ):
        if english in message:
            return chinese
    return "不能作为该年度的安排"
