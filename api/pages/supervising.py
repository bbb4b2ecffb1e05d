"""The supervisor's pages: the dashboard of what runs late, by unit, with its escalation
rungs and the twelve months' on-time and satisfaction rates; the overdue, due-soon and
accountability lists behind its figures. Read through ``api.supervision.service``, the
same functions as ``/api/v1/supervision/*``; a branch supervisor sees their branch only."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, col, select

from api import labels
from api.bulletins.figures import Month
from api.calendar.service import working_calendar
from api.config import Settings
from api.db import utcnow
from api.errors import NotAllowed
from api.pages import charts
from api.supervision import service as supervision
from api.supervision.models import (
    AccountabilityPublic,
    DueSoonPublic,
    OverduePublic,
    SupervisionKind,
    SupervisionRecord,
)
from api.units import service as units
from api.units.models import UnitKind
from api.users.models import Role, User
from api.workdays import local_date, local_midnight

READERS = (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
RUNGS = (
    SupervisionKind.WARNING,
    SupervisionKind.NOTICE,
    SupervisionKind.CRITICISM,
    SupervisionKind.ACCOUNTABILITY,
)


def may_read(user: User) -> None:
    if user.role not in READERS:
        raise NotAllowed("auth.role", "the supervision pages are for supervisors")


@dataclass
class UnitLine:
    code: str
    name: str
    overdue: int = 0
    due_soon: int = 0
    rungs: dict[str, int] = field(default_factory=dict)


@dataclass
class Dashboard:
    lines: list[UnitLine]
    months: list[str]
    on_time: Markup
    satisfaction: Markup
    since: date


def _months(today: date, count: int = 12) -> list[tuple[date, date]]:
    """The last ``count`` months, this one (so far) last: (first day, last day)."""
    periods = []
    first = today.replace(day=1)
    for _ in range(count):
        last = min(
            today, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        )
        periods.append((first, last))
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(periods))


def dashboard(*, session: Session, settings: Settings, user: User) -> Dashboard:
    may_read(user)
    unit = supervision.unit_in_view(session=session, user=user, unit=None)
    calendar = working_calendar(session=session)
    today = local_date(utcnow())
    shown = sorted(
        (
            u
            for u in units.list_all(session=session)
            if u.kind in (UnitKind.CENTRE, UnitKind.BRANCH) and (unit is None or u.code == unit)
        ),
        key=lambda u: (u.kind != UnitKind.CENTRE, u.code),  # the centre first
    )
    lines = {u.code: UnitLine(u.code, u.name) for u in shown}
    late = supervision.overdue(
        session=session, calendar=calendar, unit=unit, today=today, limit=1, offset=0
    )
    for count in late.by_unit:
        if count.unit in lines:
            lines[count.unit].overdue = count.count
    for line in lines.values():
        line.due_soon = supervision.due_soon(
            session=session,
            calendar=calendar,
            unit=line.code,
            today=today,
            within=settings.escalation_warning_working_days,
            limit=1,
            offset=0,
        ).count
    periods = _months(today)
    since = periods[0][0]
    where = [col(SupervisionRecord.at) >= local_midnight(since)]
    if unit is not None:
        where.append(col(SupervisionRecord.unit) == unit)
    for code, kind, n in session.exec(
        select(SupervisionRecord.unit, SupervisionRecord.kind, func.count())
        .where(*where)
        .group_by(col(SupervisionRecord.unit), col(SupervisionRecord.kind))
    ).all():
        if code in lines:
            lines[code].rungs[str(kind)] = n
    on_time: dict[str, list[float | None]] = {}
    satisfied: dict[str, list[float | None]] = {}
    for start, end in periods:
        figures = supervision.stats(session=session, unit=unit, start=start, end=end)
        for f in figures.data:
            on_time.setdefault(f.name, []).append(f.on_time_rate)
            satisfied.setdefault(f.name, []).append(f.satisfaction_rate)
    months = [Month(start.year, start.month).label for start, _ in periods]
    return Dashboard(
        lines=list(lines.values()),
        months=months,
        on_time=charts.line_chart(
            "chart-on-time",
            "按期办结率（近12个月）",
            months,
            [charts.Series(n, v) for n, v in on_time.items()],
        ),
        satisfaction=charts.line_chart(
            "chart-satisfaction",
            "满意率（近12个月）",
            months,
            [charts.Series(n, v) for n, v in satisfied.items()],
        ),
        since=since,
    )


@dataclass
class LateRow:
    case_no: str
    unit: str
    deadline: str
    due: str
    late: str
    task_id: int | None
    assignee: str | None
    supervised: bool
    status: str


def overdue_rows(
    *, session: Session, user: User, unit: str | None, due_soon: bool, within: int
) -> tuple[list[LateRow], int, str | None]:
    """The overdue (or due-soon) deadlines of a unit, as the dashboard's figure counts them."""
    may_read(user)
    unit = supervision.unit_in_view(session=session, user=user, unit=unit)
    calendar = working_calendar(session=session)
    today = local_date(utcnow())
    names = {u.code: u.name for u in units.list_all(session=session)}
    found: OverduePublic | DueSoonPublic
    rows = []
    if due_soon:
        found = supervision.due_soon(
            session=session,
            calendar=calendar,
            unit=unit,
            today=today,
            within=within,
            limit=500,
            offset=0,
        )
        for item in found.data:
            rows.append(
                LateRow(
                    item.case_no,
                    names.get(item.unit or "", item.unit or "—"),
                    labels.name(labels.DEADLINE, item.kind),
                    f"{labels.day(item.due_date)}止",
                    "今日到期"
                    if item.working_days_left == 0
                    else f"剩余 {item.working_days_left} 个工作日",
                    item.task_id,
                    item.assignee,
                    False,
                    labels.name(labels.STATUS, item.status),
                )
            )
    else:
        found = supervision.overdue(
            session=session, calendar=calendar, unit=unit, today=today, limit=500, offset=0
        )
        for late in found.data:
            days = late.overdue_by_working_days
            rows.append(
                LateRow(
                    late.case_no,
                    names.get(late.unit or "", late.unit or "—"),
                    labels.name(labels.DEADLINE, late.kind),
                    f"{labels.day(late.due_date)}止",
                    f"已超期 {days} 个工作日" if days else "已超期",
                    late.task_id,
                    late.assignee,
                    late.supervised,
                    labels.name(labels.STATUS, late.status),
                )
            )
    return rows, found.count, names.get(unit or "", None)


def accountability_list(
    *, session: Session, user: User, unit: str | None, kind: str | None
) -> tuple[AccountabilityPublic, dict[str, str]]:
    may_read(user)
    chosen = SupervisionKind(kind) if kind in set(SupervisionKind) else None
    found = supervision.accountability(
        session=session,
        unit=supervision.unit_in_view(session=session, user=user, unit=unit),
        start=None,
        end=None,
        kind=chosen,
        limit=500,
        offset=0,
    )
    return found, {u.code: u.name for u in units.list_all(session=session)}
