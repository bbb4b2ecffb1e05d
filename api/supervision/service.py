"""Supervision (督办) views: overdue deadlines, deadlines due soon, the per-unit bulletin
figures (通报) and the accountability records.

All of it is read from the database, the projection the workflows keep up to date; nothing
here moves a case, and no query here runs once per unit or per case.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, distinct, func
from sqlalchemy import select as columns  # typed rows of more than four columns
from sqlmodel import Session, col, select

from api.casefile.lifecycle import CaseKind, Status
from api.casefile.models import Case
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.deadlines.service import open_where
from api.errors import Invalid, NotAllowed
from api.supervision.models import (
    AccountabilityItem,
    AccountabilityPublic,
    DueSoonItem,
    DueSoonPublic,
    OverduePublic,
    StatsPublic,
    SupervisionKind,
    SupervisionRecord,
    UnitCount,
    UnitFigures,
)
from api.supervision.rollup import REACHED, SATISFIED, SUPERVISED_KINDS
from api.supervision.rollup import sums as rollup_sums
from api.tasks.models import ACTIVE, Task, TaskKind
from api.units.models import Unit, UnitKind
from api.users.models import User
from api.workdays import ZONE, WorkingCalendar, deadline_instant, local_midnight

# A bulletin covers a month, a quarter or a year; a longer span is a mistake.
MAX_PERIOD_DAYS = 366
# Dates outside these bounds are typing mistakes, and would overflow date arithmetic.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


# --- API shapes --------------------------------------------------------------------------


# --- who sees what -------------------------------------------------------------------------


def _field_error(field: str, message: str) -> Invalid:
    return Invalid((field, message), where="query")


def unit_in_view(*, session: Session, user: User, unit: str | None) -> str | None:
    """The unit to show: the one asked for, a branch user's own, or None for every unit.

    A city-unit user sees every unit; a branch supervisor only their own, and asking for
    another unit is refused (403) rather than answered with an empty list that would read
    as "nothing overdue there".
    """
    if unit is not None and session.get(Unit, unit) is None:
        raise _field_error("unit", f"unknown unit {unit!r}")
    if user.city_wide:
        return unit
    if unit is not None and unit != user.unit:
        raise NotAllowed(
            "unit.not_yours",
            f"a {user.role} of unit {user.unit} sees only unit {user.unit}, not {unit}",
        )
    return user.unit


def period(*, start: date | None, end: date | None, max_days: int | None = MAX_PERIOD_DAYS) -> None:
    """Refuses a period that ends before it starts, is too long, or lies off the calendar."""
    for field, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise _field_error(field, f"{field} must lie between {EARLIEST} and {LATEST}")
    if start is None or end is None:
        return
    if end < start:
        raise _field_error("to", f"to ({end}) is before from ({start})")
    if max_days is not None and (end - start).days + 1 > max_days:
        raise _field_error("to", f"the period may span at most {max_days} days")


# --- overdue and due soon ------------------------------------------------------------------


def _open(state: DeadlineState, unit: str | None) -> list[ColumnElement[bool]]:
    where = open_where(state)
    if unit is not None:
        where.append(col(Deadline.unit) == unit)
    return where


@dataclass(frozen=True)
class _OpenTasks:
    bounded: dict[int, tuple[int, str | None]]  # deadline id → (task id, assignee)
    supervised: set[int]  # deadline ids with an open supervise task


def _open_tasks(session: Session, case_nos: set[str]) -> _OpenTasks:
    """The open tasks of these cases, by the deadline they answer to."""
    found = _OpenTasks({}, set())
    if not case_nos:
        return found
    # Filtering the status here keeps the planner on the case number index: a case has a
    # handful of tasks, while the open tasks of all cases are many. The columns, not the
    # rows: a page of 100 deadlines has some 300 tasks. The case numbers are written into
    # the SQL: bound one by one, each is a parameter to render, cast and send, about 4 µs
    # a case on PostgreSQL (bench/lists.py), more than the tasks cost to read.
    tasks = session.execute(
        columns(
            col(Task.id),
            col(Task.deadline_id),
            col(Task.kind),
            col(Task.status),
            col(Task.assignee),
        ).where(
            col(Task.case_no).in_(
                bindparam("case_nos", sorted(case_nos), expanding=True, literal_execute=True)
            )
        )
    ).all()
    for task_id, deadline_id, kind, status, assignee in tasks:
        if deadline_id is None or status not in ACTIVE:
            continue
        if kind == TaskKind.SUPERVISE:
            found.supervised.add(deadline_id)
        elif kind != TaskKind.APPROVE_EXTENSION:
            found.bounded.setdefault(deadline_id, (task_id or 0, assignee))
    return found


def overdue(
    *,
    session: Session,
    calendar: WorkingCalendar,
    unit: str | None,
    today: date,
    limit: int,
    offset: int,
) -> OverduePublic:
    """Open deadlines past due (``state == overdue`` and not met), by unit, oldest first.

    ``overdue_by_working_days`` counts the working days after the last day up to and
    including today (``working_days_between(due_date, today)``): 1 on the first working day
    after the last day, the day the chase notice (催办通知书) is due. It is 0 while only
    days off have passed since the last day (a deadline ending on a Friday, on Saturday).
    """
    where = _open(DeadlineState.OVERDUE, unit)
    # Counted per unit: grouping by the index's next column keeps SQLite on the index of
    # open deadlines, where a plain count would walk every deadline ever missed.
    by_unit = [
        UnitCount(unit=u, count=n)
        for u, n in session.exec(
            select(Deadline.unit, func.count()).where(*where).group_by(col(Deadline.unit))
        ).all()
    ]
    by_unit.sort(key=lambda c: c.unit or "")
    # The columns the page shows, not the rows: a deadline's row is some twenty columns.
    rows = session.execute(
        columns(
            col(Deadline.id),
            col(Deadline.case_no),
            col(Deadline.unit),
            col(Deadline.name),
            col(Deadline.due_at),
            col(Deadline.due_date),
            col(Case.status),
        )
        .join(Case, col(Case.case_no) == col(Deadline.case_no))
        .where(*where)
        # met_at is NULL in every row: ordering by it first changes nothing, and matches
        # ix_deadline_open_state_met_unit_due, so the page is read in order from it.
        .order_by(col(Deadline.met_at), col(Deadline.unit), col(Deadline.due_at), col(Deadline.id))
        .offset(offset)
        .limit(limit)
    ).all()
    tasks = _open_tasks(session, {case_no for _, case_no, *_ in rows})
    # The working days overdue depend on the last day alone, which a page's deadlines
    # share: counted once a day, not once a row.
    late = {day: calendar.working_days_between(day, today) for day in {r.due_date for r in rows}}
    data = []
    for deadline_id, case_no, holder, name, due_at, due_date, status in rows:
        task_id, assignee = tasks.bounded.get(deadline_id or 0, (None, None))
        data.append(
            {
                "case_no": case_no,
                "unit": holder,
                "kind": name,
                "deadline_id": deadline_id or 0,
                "due_at": due_at.astimezone(ZONE),
                "due_date": due_date,
                "overdue_by_working_days": late[due_date],
                "task_id": task_id,
                "assignee": assignee,
                "supervised": deadline_id in tasks.supervised,
                "status": status,
            }
        )
    # The page validated in one call: pydantic builds the rows (OverdueItem) without a
    # Python __init__ for each.
    count = sum(c.count for c in by_unit)
    return OverduePublic.model_validate({"data": data, "count": count, "by_unit": by_unit})


def due_soon(
    *,
    session: Session,
    calendar: WorkingCalendar,
    unit: str | None,
    today: date,
    within: int,
    limit: int,
    offset: int,
) -> DueSoonPublic:
    """Pending deadlines whose last day is at most ``within`` working days after today.

    ``working_days_left`` = working days after today up to the last day: 0 when it ends
    today. A deadline past its end that the workflow has not flagged yet shows here with 0.
    """
    last = calendar.add_working_days(today, within).end
    where = _open(DeadlineState.PENDING, unit)
    where.append(col(Deadline.due_at) <= deadline_instant(last))
    count = session.exec(select(func.count()).select_from(Deadline).where(*where)).one()
    rows = session.exec(
        select(Deadline, Case.status)
        .join(Case, col(Case.case_no) == col(Deadline.case_no))
        .where(*where)
        .order_by(col(Deadline.due_at), col(Deadline.id))
        .offset(offset)
        .limit(limit)
    ).all()
    tasks = _open_tasks(session, {d.case_no for d, _ in rows})
    data = []
    for deadline, status in rows:
        task_id, assignee = tasks.bounded.get(deadline.id or 0, (None, None))
        data.append(
            DueSoonItem(
                case_no=deadline.case_no,
                unit=deadline.unit,
                kind=deadline.name,
                deadline_id=deadline.id or 0,
                due_at=deadline.due_at.astimezone(ZONE),
                due_date=deadline.due_date,
                provisional=deadline.provisional,
                working_days_left=calendar.working_days_between(today, deadline.due_date),
                task_id=task_id,
                assignee=assignee,
                status=Status(status),
            )
        )
    return DueSoonPublic(data=data, count=count)


# --- the bulletin figures ------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _by_unit(session: Session, query: Any) -> dict[str, tuple[int, ...]]:
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in session.exec(query).all()}


# The counts of ``/supervision/stats`` (and of the bulletin), in the order shown.
STATS = (
    "received",
    "accepted",
    "replied",
    "closed",
    "reached",
    "satisfied",
    "handled",
    "handled_on_time",
    "overdue",
    "supervised",
)


def _branches(session: Session, unit: str | None) -> list[tuple[str, str]]:
    branches = session.exec(
        select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH).order_by(col(Unit.code))
    ).all()
    return [(code, name) for code, name in branches if unit is None or code == unit]


def _figures(code: str, name: str, counts: dict[str, int]) -> UnitFigures:
    n = {key: int(counts.get(key, 0)) for key in STATS}
    return UnitFigures(
        unit=code,
        name=name,
        **n,
        on_time_rate=_rate(n["handled_on_time"], n["handled"]),
        reply_rate=_rate(n["replied"], n["accepted"]),
        valid_callback_rate=_rate(n["reached"], n["closed"]),
        satisfaction_rate=_rate(n["satisfied"], n["reached"]),
    )


def stats(*, session: Session, unit: str | None, start: date, end: date) -> StatsPublic:
    """The bulletin figures (通报) of each branch for the days ``start``..``end`` (Asia/Shanghai),
    summed from the rollup the steps keep (one range query, whatever the years of cases);
    see the route for the definitions, and ``recount`` for them as queries of the records."""
    summed = rollup_sums(session, start, end)
    data = [_figures(code, name, summed.get(code, {})) for code, name in _branches(session, unit)]
    return StatsPublic.model_validate({"from": start, "to": end, "data": data})


def recount(*, session: Session, unit: str | None, start: date, end: date) -> StatsPublic:
    """The same figures counted from the records themselves: five aggregate queries, each
    grouped by unit. The definition the rollup is held to (its tests compare the two)."""
    branches = _branches(session, unit)
    codes = [code for code, _ in branches]
    lo, hi = local_midnight(start), local_midnight(end + timedelta(days=1))

    # Received in the period and dispatched to the unit; accepted = the unit's handle deadline
    # was opened (the triage accepted it for the unit); replied = that deadline was met. A
    # case returned (退回) by another unit and dispatched again counts for its current unit.
    cohort = _by_unit(
        session,
        select(
            Case.unit,
            func.count(distinct(col(Case.id))),
            func.count(distinct(col(Deadline.case_no))),
            func.count(distinct(case((col(Deadline.met_at).is_not(None), col(Deadline.case_no))))),
        )
        .select_from(Case)
        .outerjoin(
            Deadline,
            and_(
                col(Deadline.case_no) == col(Case.case_no),
                col(Deadline.name) == "handle",
                col(Deadline.unit) == col(Case.unit),
            ),
        )
        .where(
            Case.kind == CaseKind.COMPLAINT,
            col(Case.unit).in_(codes),
            col(Case.received_at) >= lo,
            col(Case.received_at) < hi,
        )
        .group_by(col(Case.unit)),
    )
    closed = _by_unit(
        session,
        select(
            Case.unit,
            func.count(),
            func.count(case((col(Case.satisfaction).in_(REACHED), 1))),
            func.count(case((col(Case.satisfaction).in_(SATISFIED), 1))),
        )
        .where(
            Case.kind == CaseKind.COMPLAINT,  # a report closes too, without a callback
            Case.status == Status.CLOSED,
            col(Case.unit).in_(codes),
            col(Case.closed_at) >= lo,
            col(Case.closed_at) < hi,
        )
        .group_by(col(Case.unit)),
    )
    handled = _by_unit(
        session,
        select(
            Deadline.unit,
            func.count(),
            func.count(case((col(Deadline.state) == DeadlineState.MET, 1))),
        )
        .where(
            Deadline.name == "handle",
            col(Deadline.unit).in_(codes),
            col(Deadline.met_at) >= lo,
            col(Deadline.met_at) < hi,
        )
        .group_by(col(Deadline.unit)),
    )
    # A deadline ending on day D falls due at 24:00 that day, i.e. due_at = D+1 00:00.
    missed = _by_unit(
        session,
        select(Deadline.unit, func.count())
        .where(
            Deadline.state == DeadlineState.OVERDUE,
            col(Deadline.policy) != DeadlinePolicy.WATCH,
            col(Deadline.unit).in_(codes),
            col(Deadline.due_at) > lo,
            col(Deadline.due_at) <= hi,
        )
        .group_by(col(Deadline.unit)),
    )
    supervised = _by_unit(
        session,
        select(SupervisionRecord.unit, func.count())
        .where(
            col(SupervisionRecord.unit).in_(codes),
            col(SupervisionRecord.kind).in_(SUPERVISED_KINDS),
            col(SupervisionRecord.at) >= lo,
            col(SupervisionRecord.at) < hi,
        )
        .group_by(col(SupervisionRecord.unit)),
    )

    data = []
    for code, name in branches:
        received, accepted, replied = cohort.get(code, (0, 0, 0))
        closed_n, reached, satisfied = closed.get(code, (0, 0, 0))
        handled_n, on_time = handled.get(code, (0, 0))
        counts = {
            "received": received,
            "accepted": accepted,
            "replied": replied,
            "closed": closed_n,
            "reached": reached,
            "satisfied": satisfied,
            "handled": handled_n,
            "handled_on_time": on_time,
            "overdue": missed.get(code, (0,))[0],
            "supervised": supervised.get(code, (0,))[0],
        }
        data.append(_figures(code, name, counts))
    return StatsPublic.model_validate({"from": start, "to": end, "data": data})


# --- accountability ------------------------------------------------------------------------


def accountability(
    *,
    session: Session,
    unit: str | None,
    start: date | None,
    end: date | None,
    kind: SupervisionKind | None,
    limit: int,
    offset: int,
) -> AccountabilityPublic:
    """The supervision records (chases, notices, criticisms, accountability), newest first."""
    where: list[ColumnElement[bool]] = []
    if unit is not None:
        where.append(col(SupervisionRecord.unit) == unit)
    if kind is not None:
        where.append(col(SupervisionRecord.kind) == kind)
    if start is not None:
        where.append(col(SupervisionRecord.at) >= local_midnight(start))
    if end is not None:
        where.append(col(SupervisionRecord.at) < local_midnight(end + timedelta(days=1)))
    count = session.exec(select(func.count()).select_from(SupervisionRecord).where(*where)).one()
    rows = session.exec(
        select(SupervisionRecord)
        .where(*where)
        .order_by(col(SupervisionRecord.at).desc(), col(SupervisionRecord.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return AccountabilityPublic(
        data=[
            AccountabilityItem(
                id=r.id or 0,
                case_no=r.case_no,
                unit=r.unit,
                kind=r.kind,
                at=r.at.astimezone(ZONE),
                handler=r.handler,
                deadline=r.deadline,
                by=r.by,
            )
            for r in rows
        ],
        count=count,
    )
