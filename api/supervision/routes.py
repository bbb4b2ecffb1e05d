from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.calendar.service import working_calendar
from api.db import utcnow
from api.deps import CurrentUser, SessionDep, require
from api.supervision import service as supervision
from api.supervision.models import (
    AccountabilityPublic,
    DueSoonPublic,
    OverduePublic,
    StatsPublic,
    SupervisionKind,
)
from api.users.models import Role
from api.workdays import local_date

router = APIRouter(prefix="/supervision", tags=["supervision"])

# Supervisors act on these views; auditors and admins may read them.
READERS = require(Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)

UnitCode = Annotated[str | None, Query(max_length=40, description="a unit code, e.g. guichi")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
From = Annotated[date | None, Query(alias="from", description="first day, Asia/Shanghai")]
To = Annotated[date | None, Query(description="last day (inclusive), Asia/Shanghai")]


@router.get("/overdue", response_model=OverduePublic, dependencies=[READERS])
def list_overdue(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitCode = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> OverduePublic:
    """Open deadlines past due (超期), by unit, oldest first, with working days overdue."""
    return supervision.overdue(
        session=session,
        calendar=working_calendar(session=session),
        unit=supervision.unit_in_view(session=session, user=user, unit=unit),
        today=local_date(utcnow()),
        limit=limit,
        offset=offset,
    )


@router.get("/due-soon", response_model=DueSoonPublic, dependencies=[READERS])
def list_due_soon(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitCode = None,
    within: Annotated[int, Query(ge=0, le=20, description="working days from today")] = 2,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DueSoonPublic:
    """Open deadlines ending within ``within`` working days (预警), soonest first."""
    return supervision.due_soon(
        session=session,
        calendar=working_calendar(session=session),
        unit=supervision.unit_in_view(session=session, user=user, unit=unit),
        today=local_date(utcnow()),
        within=within,
        limit=limit,
        offset=offset,
    )


@router.get("/stats", response_model=StatsPublic, dependencies=[READERS])
def get_stats(
    session: SessionDep,
    user: CurrentUser,
    from_: From = None,
    to: To = None,
    unit: UnitCode = None,
) -> StatsPublic:
    """The bulletin figures (通报) of each branch for a period (default: this month so far).

    The period is ``from``..``to``, whole days in Asia/Shanghai, at most 366 days. Per
    branch (every branch is listed, with zeros where nothing happened):

    - **received** (受理登记): complaints received in the period (``received_at``) and
      dispatched to the branch (its handling unit).
    - **accepted**: of those, the ones the centre accepted: a handle deadline was opened.
    - **replied**: of those, the ones whose handle deadline is met (the branch replied; a
      withdrawal during handling also ends it). **reply_rate** (回复率) = replied / accepted.
    - **closed** (办结): complaints of the branch closed (``closed`` after the callback) in
      the period. **valid_callback_rate** (有效回访率) = closed cases whose callback reached
      the complainant / closed. **satisfaction_rate** (满意率) = (satisfied + basically
      satisfied) / reached callbacks of those closed cases.
    - **on_time_rate** (按期办结率) = the branch's handle deadlines that ended in the period
      (``met_at``) on time / all of them that ended in the period (on time or late).
    - **overdue** (超期): the branch's deadlines whose last day fell in the period and that
      were missed (still open or met late; one extended back to pending is not counted).
    - **supervised** (督办): supervision records of the branch in the period of kind
      overdue, notice, criticism or urge (actions, not cases).

    A rate is null when its denominator is 0, else rounded to 4 decimals.
    """
    supervision.period(start=from_, end=to)
    today = local_date(utcnow())
    start = from_ or (to or today).replace(day=1)
    end = to or max(today, start)
    supervision.period(start=start, end=end)
    return supervision.stats(
        session=session,
        unit=supervision.unit_in_view(session=session, user=user, unit=unit),
        start=start,
        end=end,
    )


@router.get("/accountability", response_model=AccountabilityPublic, dependencies=[READERS])
def list_accountability(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitCode = None,
    from_: From = None,
    to: To = None,
    kind: SupervisionKind | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AccountabilityPublic:
    """Warnings, chases, notices, criticisms and accountability records, newest first."""
    supervision.period(start=from_, end=to, max_days=None)
    return supervision.accountability(
        session=session,
        unit=supervision.unit_in_view(session=session, user=user, unit=unit),
        start=from_,
        end=to,
        kind=kind,
        limit=limit,
        offset=offset,
    )
