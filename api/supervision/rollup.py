"""The rollup of the bulletin's figures (日统计): per unit, per day, per figure.

Every figure of ``docs/bulletin.md`` is a count of one case's records: its row, its
deadlines, its escalation records, its mediation rungs. ``contributions`` says what one
case adds to each (unit, day, figure) now, by the same definitions as the raw recount
(``recount``). Each step of a case, in the transaction of its change, takes back what
the case added before (``CaseFigures``) and adds what it adds now (``refresh``). A
month's figures are then one range of the rollup's days (``sums``), whatever the number of
cases the years have piled up: the rollup is kept by day (``FigureDay``, what a period
of days sums) and by month (``FigureMonth``, what a bulletin reads).

A day is the local date (Asia/Shanghai) of the instant that puts a record into the
bulletin; a deadline missed counts on its last day. The amount recovered is kept in fen.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from api.casefile.lifecycle import CaseKind, Status
from api.casefile.models import Case
from api.db import utcnow
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.mediation.ladder import Rung
from api.mediation.models import MediationRung
from api.supervision.models import (
    CaseFigures,
    FigureDay,
    FigureMonth,
    RollupState,
    SupervisionKind,
    SupervisionRecord,
)
from api.workdays import local_date

# The 督办 the bulletin counts (a warning is a reminder; accountability follows a criticism).
SUPERVISED_KINDS = (
    SupervisionKind.OVERDUE,
    SupervisionKind.NOTICE,
    SupervisionKind.CRITICISM,
    SupervisionKind.URGE,
)
REACHED = ("satisfied", "basically_satisfied", "unsatisfied")
SATISFIED = ("satisfied", "basically_satisfied")
AMOUNT = "amount_recovered_fen"

Key = tuple[str, date, str]  # unit, day, figure
_JUST_BEFORE = timedelta(microseconds=1)


def _day(at: datetime) -> date:
    return local_date(at)


def _fen(value: Any) -> int:
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return 0


def contributions(session: Session, case_nos: Iterable[str]) -> dict[str, Counter[Key]]:
    """What each case adds to the rollup now (four queries for any number of cases)."""
    numbers = list(case_nos)
    if not numbers:
        return {}
    cases = {c.case_no: c for c in session.exec(select(Case).where(col(Case.case_no).in_(numbers)))}
    deadlines: dict[str, list[Deadline]] = {no: [] for no in numbers}
    for d in session.exec(select(Deadline).where(col(Deadline.case_no).in_(numbers))):
        deadlines[d.case_no].append(d)
    return _counted(session, numbers, cases, deadlines)


def _counted(
    session: Session,
    numbers: list[str],
    cases: dict[str, Case],
    deadlines: dict[str, list[Deadline]],
) -> dict[str, Counter[Key]]:
    """What the cases add, from their rows and deadlines (read by the caller) and their
    escalation records and mediation rungs (read here)."""
    out: dict[str, Counter[Key]] = {no: Counter() for no in numbers}
    for r in session.exec(
        select(SupervisionRecord).where(col(SupervisionRecord.case_no).in_(numbers))
    ):
        found = out[r.case_no]
        if r.kind in SUPERVISED_KINDS:
            found[(r.unit, _day(r.at), "supervised")] += 1
        if r.kind == SupervisionKind.CRITICISM:
            found[(r.unit, _day(r.at), "criticised")] += 1
    for g in session.exec(select(MediationRung).where(col(MediationRung.case_no).in_(numbers))):
        found = out[g.case_no]
        found[(g.unit, _day(g.entered_at), f"rung_{g.rung}")] += 1
        if g.ended_at is None:
            continue
        ended = _day(g.ended_at)
        if g.outcome == "agreement" and g.rung == Rung.ADMINISTRATIVE:
            found[(g.unit, ended, "agreements_administrative")] += 1
        elif g.outcome == "agreement" and g.rung == Rung.PEOPLE:
            found[(g.unit, ended, "agreements_people")] += 1
        elif g.outcome == "confirmed":
            found[(g.unit, ended, "judicial_confirmations")] += 1
        fen = _fen((g.details or {}).get("amount_recovered", 0))
        if fen:
            found[(g.unit, ended, AMOUNT)] += fen
    for no, case in cases.items():
        _of_case(out[no], case, deadlines[no])
    for found in out.values():
        for key in [k for k, n in found.items() if n == 0]:
            del found[key]
    return out


def _of_case(found: Counter[Key], case: Case, deadlines: list[Deadline]) -> None:
    complaint = case.kind == CaseKind.COMPLAINT
    if complaint and case.unit is not None:
        # The cohort: received in the month and now with the unit (a case returned and
        # sent on counts for its current unit); accepted and replied by its deadline there.
        received = _day(case.received_at)
        found[(case.unit, received, "received")] += 1
        own = [d for d in deadlines if d.name == "handle" and d.unit == case.unit]
        if own:
            found[(case.unit, received, "accepted")] += 1
        if any(d.met_at is not None for d in own):
            found[(case.unit, received, "replied")] += 1
        if case.status == Status.CLOSED and case.closed_at is not None:
            closed = _day(case.closed_at)
            found[(case.unit, closed, "closed")] += 1
            if case.satisfaction in REACHED:
                found[(case.unit, closed, "reached")] += 1
            if case.satisfaction in SATISFIED:
                found[(case.unit, closed, "satisfied")] += 1
    for d in deadlines:
        if d.unit is None:
            continue
        if d.state == DeadlineState.OVERDUE and d.policy != DeadlinePolicy.WATCH:
            found[(d.unit, _day(d.due_at - _JUST_BEFORE), "overdue")] += 1  # its last day
        if d.name == "investigate":
            found[(d.unit, d.started_on, "reports_filed")] += 1
        if d.met_at is None:
            continue
        met = _day(d.met_at)
        if d.name == "handle":
            found[(d.unit, met, "handled")] += 1
            if d.state == DeadlineState.MET:
                found[(d.unit, met, "handled_on_time")] += 1
        elif d.name == "reporter_notice":
            found[(d.unit, met, "reporters_told")] += 1
            if d.state == DeadlineState.MET:
                found[(d.unit, met, "reporters_told_on_time")] += 1
        elif d.name == "verify" and case.kind == CaseKind.REPORT and case.outcome == "not_filed":
            found[(d.unit, met, "reports_not_filed")] += 1


def _stored(row: CaseFigures | None) -> Counter[Key]:
    found: Counter[Key] = Counter()
    for unit, day, figure, n in row.figures if row else []:
        found[(unit, date.fromisoformat(day), figure)] += int(n)
    return found


@dataclass(frozen=True)
class Known:
    """A case's row and every one of its deadlines, as the caller read them in this
    transaction after its changes (a step's engine, which needs them for its answer too)."""

    case: Case
    deadlines: Sequence[Deadline]


def refresh(session: Session, case_no: str, known: Known | None = None) -> None:
    """The case changed in this transaction: the rollup takes out what it added before and
    adds what it adds now (its row and deadlines read here, unless ``known``)."""
    row = session.get(CaseFigures, case_no)
    before = _stored(row)
    counted = (
        contributions(session, [case_no])
        if known is None
        else _counted(session, [case_no], {case_no: known.case}, {case_no: list(known.deadlines)})
    )
    after = counted[case_no]
    delta: Counter[Key] = Counter(after)
    delta.subtract(before)
    changed = {k: n for k, n in delta.items() if n}
    if not changed:
        return
    add(session, changed)
    figures = [[u, d.isoformat(), f, n] for (u, d, f), n in sorted(after.items())]
    if row is None:
        session.add(CaseFigures(case_no=case_no, figures=figures))
    else:
        row.figures = figures
        session.add(row)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add(session: Session, delta: dict[Key, int]) -> None:
    """Adds to the rollup's rows of the day and of its month, each made if it is not
    there: one upsert of all the days' rows and one of the months', so two steps of
    different cases adding to one day add up. The rows go in their keys' order, so two
    steps lock them in the same order."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    months: Counter[tuple[str, str, str]] = Counter()
    day_rows = []
    for (unit, day, figure), n in sorted(delta.items()):
        months[(_month(day), unit, figure)] += n
        day_rows.append({"day": day, "unit": unit, "figure": figure, "value": n})
    days = insert(FigureDay).values(day_rows)
    session.execute(
        days.on_conflict_do_update(
            index_elements=["day", "unit", "figure"],
            set_={"value": col(FigureDay.value) + days.excluded.value},
        )
    )
    month_rows = [
        {"month": month, "unit": unit, "figure": figure, "value": n}
        for (month, unit, figure), n in sorted(months.items())
        if n
    ]
    if not month_rows:
        return
    whole = insert(FigureMonth).values(month_rows)
    session.execute(
        whole.on_conflict_do_update(
            index_elements=["month", "unit", "figure"],
            set_={"value": col(FigureMonth.value) + whole.excluded.value},
        )
    )


def sums(session: Session, start: date, end: date) -> dict[str, Counter[str]]:
    """Each unit's figures summed over the days ``start``..``end``: the months wholly in
    the period from the months' rollup, the days before and after them from the days'."""
    out: dict[str, Counter[str]] = {}
    first = date(start.year, start.month, 1)
    if first < start:
        first = _next_month(first)
    whole: list[str] = []
    while _next_month(first) - timedelta(days=1) <= end:
        whole.append(_month(first))
        first = _next_month(first)
    if not whole:
        _add_days(session, out, start, end)
        return out
    head = date.fromisoformat(f"{whole[0]}-01")
    if start < head:
        _add_days(session, out, start, head - timedelta(days=1))
    if first <= end:
        _add_days(session, out, first, end)
    for unit, figure, total in session.exec(
        select(FigureMonth.unit, FigureMonth.figure, func.sum(FigureMonth.value))
        .where(col(FigureMonth.month) >= whole[0], col(FigureMonth.month) <= whole[-1])
        .group_by(col(FigureMonth.unit), col(FigureMonth.figure))
    ).all():
        out.setdefault(unit, Counter())[figure] += int(total or 0)
    return out


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _add_days(session: Session, out: dict[str, Counter[str]], start: date, end: date) -> None:
    for unit, figure, total in session.exec(
        select(FigureDay.unit, FigureDay.figure, func.sum(FigureDay.value))
        .where(col(FigureDay.day) >= start, col(FigureDay.day) <= end)
        .group_by(col(FigureDay.unit), col(FigureDay.figure))
    ).all():
        out.setdefault(unit, Counter())[figure] += int(total or 0)


# --- built from the raw records ------------------------------------------------------------

BATCH = 2000


def rebuild(session: Session) -> int:
    """Builds the rollup afresh from every case's records (an upgrade, a repair); returns
    the cases counted. Commits."""
    session.execute(delete(FigureDay))
    session.execute(delete(FigureMonth))
    session.execute(delete(CaseFigures))
    total: Counter[Key] = Counter()
    done = 0
    last = 0
    while True:
        rows = session.exec(
            select(Case.id, Case.case_no)
            .where(col(Case.id) > last, Case.kind != CaseKind.BULLETIN)
            .order_by(col(Case.id))
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0] or last
        found = contributions(session, [no for _, no in rows])
        for no, each in found.items():
            if each:
                total.update(each)
                session.add(
                    CaseFigures(
                        case_no=no,
                        figures=[[u, d.isoformat(), f, n] for (u, d, f), n in sorted(each.items())],
                    )
                )
        done += len(rows)
        session.flush()
        session.expunge_all()
    session.add_all(
        FigureDay(day=d, unit=u, figure=f, value=n) for (u, d, f), n in total.items() if n
    )
    months: Counter[tuple[str, str, str]] = Counter()
    for (u, d, f), n in total.items():
        months[(_month(d), u, f)] += n
    session.add_all(
        FigureMonth(month=m, unit=u, figure=f, value=n) for (m, u, f), n in months.items() if n
    )
    state = session.get(RollupState, 1) or RollupState(id=1)
    state.built_at = utcnow()
    session.add(state)
    session.commit()
    return done


def ensure_built(session: Session) -> None:
    """Builds the rollup once, on the first start after the upgrade that made it (the
    state row is taken for update, so two API processes starting together build it once)."""
    state = session.exec(select(RollupState).where(RollupState.id == 1).with_for_update()).first()
    if state is not None and state.built_at is not None:
        session.rollback()
        return
    rebuild(session)
