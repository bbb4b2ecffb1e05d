from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.calendar.service import working_calendar
from api.deps import CurrentUser, SessionDep

router = APIRouter(tags=["reference"])


class CalendarYearPublic(BaseModel):
    year: int
    source: str
    holidays: list[str]
    workdays: list[str]


@router.get("/calendar/{year}", response_model=CalendarYearPublic)
def get_year(
    year: Annotated[int, Path(ge=2004, le=2100)], session: SessionDep, _user: CurrentUser
) -> CalendarYearPublic:
    """The year's holidays and make-up working days, and where they come from."""
    calendar = working_calendar(session=session)
    arrangement = calendar.arrangement(year)
    return CalendarYearPublic(
        year=year,
        source=calendar.source(year),
        holidays=sorted(d.isoformat() for d in arrangement.holidays),
        workdays=sorted(d.isoformat() for d in arrangement.workdays),
    )
