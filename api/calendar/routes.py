import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlmodel import Session, col, select

from api import process
from api.calendar import service as calendars
from api.calendar.models import (
    CalendarChangePublic,
    CalendarChangesPublic,
    CalendarYearPublic,
    CalendarYearSet,
    CalendarYearUpdate,
)
from api.casefile.models import Case
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, get_temporal, require
from api.mediation.models import Mediation
from api.users.models import Role, User
from api.workdays import ZONE

router = APIRouter(tags=["reference"])
log = logging.getLogger(__name__)

Year = Annotated[int, Path(ge=2004, le=2100)]


@router.get("/calendar/{year}", response_model=CalendarYearPublic, response_model_exclude_none=True)
def get_year(year: Year, session: SessionDep, _user: CurrentUser) -> CalendarYearPublic:
    """The year's holidays and make-up working days, and where they come from."""
    return _in_force(session=session, year=year)


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
    case_nos, workflows = await db.run(_save_year, year=year, body=body, user=user)
    pending = False
    if workflows:
        # The arrangement is committed: a Temporal outage must not undo or hide it.
        try:
            temporal = await get_temporal(request)
            await process.recompute_deadlines(
                client=temporal, settings=settings, workflows=workflows
            )
        except Exception:
            log.exception("calendar %s saved; recomputing %d cases failed", year, len(case_nos))
            pending = True
    in_force = await db.run(_in_force, year=year)
    return CalendarYearSet(**in_force.model_dump(), recomputing=case_nos, recompute_pending=pending)


def _save_year(
    *, session: Session, year: int, body: CalendarYearUpdate, user: User
) -> tuple[list[str], list[str]]:
    """Saves the arrangement; returns the cases and the workflows with open deadlines in it."""
    calendars.set_year(
        session=session,
        year=year,
        holidays=body.holidays,
        workdays=body.workdays,
        by=user.username,
    )
    owners = calendars.open_deadline_owners(session=session, year=year)
    case_nos = sorted({case_no for case_no, _ in owners})
    if not case_nos:
        return [], []
    cases = {
        c.case_no: c
        for c in session.exec(select(Case).where(col(Case.case_no).in_(case_nos))).all()
    }
    numbers = {
        m.id: m.number
        for m in session.exec(
            select(Mediation).where(col(Mediation.id).in_([o for _, o in owners if o]))
        ).all()
    }
    workflows = [
        process.owner_of(cases[case_no], numbers[owner] if owner else None)
        for case_no, owner in owners
    ]
    return case_nos, workflows


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


def _in_force(*, session: Session, year: int) -> CalendarYearPublic:
    calendar = calendars.working_calendar(session=session)
    arrangement = calendar.arrangement(year)
    source = calendar.source(year)
    row = calendars.get_year(session=session, year=year) if source == "table" else None
    return CalendarYearPublic(
        year=year,
        source=source,
        holidays=sorted(arrangement.holidays),
        workdays=sorted(arrangement.workdays),
        updated_at=row.updated_at.astimezone(ZONE) if row else None,
        updated_by=row.updated_by if row else None,
    )
