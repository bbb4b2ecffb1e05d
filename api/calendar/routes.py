import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from temporalio.client import Client

from api.calendar import service as calendars
from api.calendar.models import (
    CalendarChangePublic,
    CalendarChangesPublic,
    CalendarYearPublic,
    CalendarYearSet,
    CalendarYearUpdate,
)
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, get_temporal, require
from api.users.models import Role
from api.workdays import ZONE

router = APIRouter(tags=["reference"])
log = logging.getLogger(__name__)

Year = Annotated[int, Path(ge=2004, le=2100)]


@router.get("/calendar/{year}", response_model=CalendarYearPublic, response_model_exclude_none=True)
def get_year(year: Year, session: SessionDep, _user: CurrentUser) -> CalendarYearPublic:
    """The year's holidays and make-up working days, and where they come from."""
    return calendars.in_force(session=session, year=year)


@router.put(
    "/calendar/{year}",
    response_model=CalendarYearSet,
    response_model_exclude_none=True,
    dependencies=[require(Role.ADMIN)],
)
async def set_year(
    year: Year,
    body: CalendarYearUpdate,
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> CalendarYearSet:
    """Sets the year's arrangement (放假调休安排) and recomputes the open deadlines it moves."""

    async def temporal() -> Client:
        return await get_temporal(request)

    return await calendars.apply_year(
        db=db,
        temporal=temporal,
        settings=settings,
        user=user,
        year=year,
        holidays=body.holidays,
        workdays=body.workdays,
    )


@router.get(
    "/calendar/{year}/changes",
    response_model=CalendarChangesPublic,
    dependencies=[require(Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR)],
)
def list_changes(year: Year, session: SessionDep) -> CalendarChangesPublic:
    """Who changed the year's arrangement, when, from what to what."""
    data = [
        CalendarChangePublic(
            year=c.year, at=c.at.astimezone(ZONE), by=c.by, before=c.before, after=c.after
        )
        for c in calendars.changes(session=session, year=year)
    ]
    return CalendarChangesPublic(data=data, count=len(data))
