"""The calendar in force: the admin's year table (日历表) over the package's years."""

import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import Client

from api import process
from api.calendar.models import CalendarChange, CalendarYear, CalendarYearPublic, CalendarYearSet
from api.casefile.models import Case
from api.config import Settings
from api.db import Database, utcnow
from api.deadlines.models import Deadline
from api.deadlines.reckoning import reckon
from api.deadlines.service import OPEN_STATES
from api.errors import Conflict, Invalid
from api.mediation.models import Mediation
from api.users.models import User
from api.workdays import ZONE, WorkingCalendar, YearArrangement

log = logging.getLogger(__name__)

# Per engine (tests run many databases in one process): the table's fingerprint and the
# calendar built for it. Weak keys, so a disposed engine's entry goes with it.
_built: "weakref.WeakKeyDictionary[Engine, tuple[tuple[Any, ...], WorkingCalendar]]" = (
    weakref.WeakKeyDictionary()
)


def working_calendar(
    *, session: Session, fingerprint: tuple[Any, ...] | None = None
) -> WorkingCalendar:
    """The calendar in force: the table's years, then the package's, then Mon–Fri provisional.

    ``fingerprint``: the values of ``fingerprint_columns`` read by the caller (a step reads
    them with the rule sets' in one statement); None: read here."""
    engine = session.get_bind().engine
    if fingerprint is None:
        fingerprint = tuple(session.exec(select(*fingerprint_columns())).one())
    cached = _built.get(engine)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    rows = session.exec(select(CalendarYear)).all()
    calendar = WorkingCalendar({row.year: _arrangement(row) for row in rows})
    _built[engine] = (fingerprint, calendar)
    return calendar


def get_year(*, session: Session, year: int) -> CalendarYear | None:
    return session.get(CalendarYear, year)


def set_year(
    *, session: Session, year: int, holidays: Sequence[date], workdays: Sequence[date], by: str
) -> CalendarYear:
    """Sets a year's arrangement (放假调休安排) and records the change; the same again is a no-op.

    Holidays may include the weekend days of a break, as the State Council's notice lists
    them; a make-up working day (调休上班) must be a Saturday or Sunday.
    """
    _validate(year=year, holidays=holidays, workdays=workdays)
    new_holidays = sorted(d.isoformat() for d in holidays)
    new_workdays = sorted(d.isoformat() for d in workdays)
    after = {"holidays": new_holidays, "workdays": new_workdays}
    row = session.get(CalendarYear, year, with_for_update=True)
    before = None if row is None else {"holidays": row.holidays, "workdays": row.workdays}
    if row is not None and before == after:
        session.commit()  # nothing to write; ends the transaction and its row lock
        return row
    if row is None:
        row = CalendarYear(year=year, holidays=new_holidays, workdays=new_workdays, updated_by=by)
    else:
        row.holidays, row.workdays = new_holidays, new_workdays
        row.updated_at, row.updated_by = utcnow(), by
    session.add(row)
    session.add(CalendarChange(year=year, at=row.updated_at, by=by, before=before, after=after))
    try:
        session.commit()
    except IntegrityError as error:
        # Another admin created the same year in the same moment.
        session.rollback()
        raise Conflict(
            "calendar.changed", f"the {year} arrangement changed meanwhile; try again"
        ) from error
    return row


def changes(*, session: Session, year: int) -> Sequence[CalendarChange]:
    """The year's recorded changes, oldest first."""
    query = select(CalendarChange).where(CalendarChange.year == year)
    return session.exec(query.order_by(col(CalendarChange.id))).all()


def open_deadline_owners(*, session: Session, year: int) -> list[tuple[str, int | None]]:
    """Who times an open deadline that a change of ``year`` may move: (case number, the
    mediation owning it or None for the case's own workflow)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    counts_through_year = (col(Deadline.started_on) <= last) & (col(Deadline.due_date) >= first)
    # A provisional deadline counted Mon–Fri through a year without data, wherever it started.
    provisional_up_to_year = col(Deadline.provisional) & (col(Deadline.due_date) >= first)
    query = (
        select(Deadline.case_no, Deadline.mediation_id)
        .distinct()
        .where(col(Deadline.met_at).is_(None))
        .where(col(Deadline.state).in_(OPEN_STATES))
        .where(or_(counts_through_year, provisional_up_to_year))
        .order_by(col(Deadline.case_no))
    )
    return [(case_no, owner) for case_no, owner in session.exec(query).all()]


def open_deadline_case_nos(*, session: Session, year: int) -> list[str]:
    """The cases with an open deadline that a change of ``year`` may move."""
    return sorted({case_no for case_no, _ in open_deadline_owners(session=session, year=year)})


def fingerprint_columns() -> list[Any]:
    """What tells that the year table changed, as columns of one row.

    Every change through set_year adds a CalendarChange row, whose id only grows, even if
    two API hosts' clocks disagree about updated_at; count and updated_at catch rows
    written any other way."""
    return [
        select(func.count(col(CalendarYear.year))).scalar_subquery(),
        select(func.max(CalendarYear.updated_at)).scalar_subquery(),
        select(func.max(CalendarChange.id)).scalar_subquery(),
    ]


def _arrangement(row: CalendarYear) -> YearArrangement:
    return YearArrangement(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
    )


def _validate(*, year: int, holidays: Sequence[date], workdays: Sequence[date]) -> None:
    """Refuses (422) what cannot be one year's arrangement, naming every bad date."""
    errors: list[dict[str, Any]] = []

    def refuse(field: str, index: int, message: str) -> None:
        errors.append({"loc": ["body", field, index], "msg": message, "type": "value_error"})

    for field, days in (("holidays", holidays), ("workdays", workdays)):
        seen: set[date] = set()
        for index, day in enumerate(days):
            if day.year != year:
                refuse(field, index, f"{day} is not in {year}")
            if day in seen:
                refuse(field, index, f"{day} is listed twice")
            seen.add(day)
    off = set(holidays)
    for index, day in enumerate(workdays):
        if day in off:
            refuse("workdays", index, f"{day} is listed both as a holiday and as a working day")
        elif day.weekday() < 5:
            refuse(
                "workdays",
                index,
                f"{day} is a weekday: a make-up working day (调休上班) is a Saturday or Sunday",
            )
    if errors:
        raise Invalid(errors=errors)


def in_force(*, session: Session, year: int) -> CalendarYearPublic:
    """The year's arrangement in force, and where it comes from."""
    calendar = working_calendar(session=session)
    arrangement = calendar.arrangement(year)
    source = calendar.source(year)
    row = get_year(session=session, year=year) if source == "table" else None
    return CalendarYearPublic(
        year=year,
        source=source,
        holidays=sorted(arrangement.holidays),
        workdays=sorted(arrangement.workdays),
        updated_at=row.updated_at.astimezone(ZONE) if row else None,
        updated_by=row.updated_by if row else None,
    )


@dataclass(frozen=True)
class Moved:
    """An open deadline a new arrangement would move: its last day now, and then."""

    case_no: str
    name: str
    unit: str | None
    now: date
    then: date


def preview(
    *, session: Session, year: int, holidays: Sequence[date], workdays: Sequence[date]
) -> list[Moved]:
    """The open deadlines the arrangement would move, before it is saved (checked as
    ``set_year`` checks it). A deadline a court or a sender fixed does not move."""
    _validate(year=year, holidays=holidays, workdays=workdays)
    tables = {row.year: _arrangement(row) for row in session.exec(select(CalendarYear)).all()}
    tables[year] = YearArrangement(year, frozenset(holidays), frozenset(workdays))
    calendar = WorkingCalendar(tables)
    first, last = date(year, 1, 1), date(year, 12, 31)
    moved = []
    for deadline in session.exec(
        select(Deadline)
        .where(col(Deadline.met_at).is_(None), col(Deadline.state).in_(OPEN_STATES))
        .where(
            or_(
                (col(Deadline.started_on) <= last) & (col(Deadline.due_date) >= first),
                col(Deadline.provisional) & (col(Deadline.due_date) >= first),
            )
        )
        .order_by(col(Deadline.due_date), col(Deadline.id))
    ).all():
        if deadline.fixed:
            continue
        then, _ = reckon(calendar, deadline)
        if then != deadline.due_date:
            moved.append(
                Moved(deadline.case_no, deadline.name, deadline.unit, deadline.due_date, then)
            )
    return moved


def save_year(
    *, session: Session, year: int, holidays: Sequence[date], workdays: Sequence[date], by: str
) -> tuple[list[str], list[str]]:
    """Saves the arrangement; returns the cases and the workflows with open deadlines in it."""
    set_year(session=session, year=year, holidays=holidays, workdays=workdays, by=by)
    owners = open_deadline_owners(session=session, year=year)
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


async def apply_year(
    *,
    db: Database,
    temporal: Callable[[], Awaitable[Client]],
    settings: Settings,
    user: User,
    year: int,
    holidays: Sequence[date],
    workdays: Sequence[date],
) -> CalendarYearSet:
    """Saves the year's arrangement and sends its open deadlines to be recomputed (PUT
    /calendar/{year} and the admin's calendar page)."""
    case_nos, workflows = await db.run(
        save_year, year=year, holidays=holidays, workdays=workdays, by=user.username
    )
    pending = False
    if workflows:
        # The arrangement is committed: a Temporal outage must not undo or hide it.
        try:
            await process.recompute_deadlines(
                client=await temporal(), settings=settings, workflows=workflows
            )
        except Exception:
            log.exception("calendar %s saved; recomputing %d cases failed", year, len(case_nos))
            pending = True
    shown = await db.run(in_force, year=year)
    return CalendarYearSet(**shown.model_dump(), recomputing=case_nos, recompute_pending=pending)
