"""The lists a clerk opens most: the case list, the inbox and the overdue list. Their rows,
their order and their count (counted so far past the page, and no further), and, on
SQLite, the indexes they are read from (``bench/lists.py`` measures them at scale)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import api.db
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import Case
from api.cases import service as cases
from api.deadlines.models import Deadline, DeadlineState
from api.inbox import service as inbox
from api.main import prepare_database
from api.pages import views
from api.supervision import service as supervision
from api.tasks.models import Task, TaskKind, TaskStatus
from api.users.models import Role, User
from api.workdays import WorkingCalendar
from tests.conftest import Database

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
OPERATOR = User(username="operator", role=Role.OPERATOR, unit="city", password_hash="")
HANDLER = User(username="guichi", role=Role.HANDLER, unit="guichi", password_hash="")
SUPERVISOR = User(username="supervisor", role=Role.SUPERVISOR, unit="city", password_hash="")


def a_case(case_no: str, *, unit: str | None, received: datetime, kind: CaseKind) -> Case:
    return Case(
        case_no=case_no,
        kind=kind,
        channel=Channel.HOTLINE,
        status=Status.HANDLING,
        unit=unit,
        received_at=received,
        registered_by="operator",
        registered_unit="city",
        rule_set="samr-order-121",
        description="冰箱不制冷",
    )


def a_task(case_no: str, role: Role, unit: str, status: TaskStatus, due: int | None) -> Task:
    """A task due ``due`` days from NOW (None: no deadline)."""
    kind = TaskKind.HANDLE if role == Role.HANDLER else TaskKind.CALLBACK
    if role == Role.SUPERVISOR:
        kind = TaskKind.SUPERVISE
    return Task(
        case_no=case_no,
        kind=kind,
        role=role,
        unit=unit,
        status=status,
        due_at=None if due is None else NOW + timedelta(days=due),
    )


def prepared(database: Database) -> Engine:
    prepare_database(database.engine, database.settings)
    return database.engine


def test_the_inbox_lists_open_tasks_soonest_due_first_and_those_without_a_deadline_last(
    database: Database,
) -> None:
    engine = prepared(database)
    with Session(engine) as session:
        session.add(a_case("TS1", unit="guichi", received=NOW, kind=CaseKind.COMPLAINT))
        session.flush()
        for role, unit, status, due in [
            (Role.HANDLER, "guichi", TaskStatus.OPEN, 3),
            (Role.HANDLER, "guichi", TaskStatus.OPEN, None),
            (Role.HANDLER, "guichi", TaskStatus.OPEN, 1),
            (Role.HANDLER, "guichi", TaskStatus.CLAIMED, 2),
            (Role.HANDLER, "guichi", TaskStatus.DONE, 0),
            (Role.HANDLER, "guichi", TaskStatus.OPEN, 1),  # the same day: the older first
            (Role.HANDLER, "dongzhi", TaskStatus.OPEN, -2),
            (Role.OPERATOR, "city", TaskStatus.OPEN, 5),
            (Role.OPERATOR, "city", TaskStatus.OPEN, -1),
            (Role.OPERATOR, "city", TaskStatus.CANCELLED, -3),
            (Role.SUPERVISOR, "city", TaskStatus.OPEN, None),
            (Role.HANDLER, "guichi", TaskStatus.OPEN, None),
        ]:
            session.add(a_task("TS1", role, unit, status, due))
        session.commit()
        every = list(session.exec(select(Task)).all())

    def expected(seen: Callable[[Task], bool], statuses: tuple[str, ...]) -> list[int | None]:
        shown = [t for t in every if seen(t) and t.status in statuses]
        shown.sort(key=lambda t: (t.due_at is None, t.due_at or NOW, t.id or 0))
        return [t.id for t in shown]

    for user, seen in [
        (HANDLER, lambda t: t.unit == "guichi"),
        (OPERATOR, lambda t: t.role == Role.OPERATOR),
        (SUPERVISOR, lambda t: True),
    ]:
        with Session(engine) as session:
            listed = inbox.listing(
                session=session,
                user=user,
                status=TaskStatus.OPEN,
                kind=None,
                case_no=None,
                limit=50,
                offset=0,
            )
            page, _ = views.task_rows(session=session, settings=database.settings, user=user)
        assert [t.id for t in listed.data] == expected(seen, ("open",)), user.username
        assert (listed.count, listed.count_exact) == (len(listed.data), True)
        assert [r.task.id for r in page] == expected(seen, ("open", "claimed")), user.username


def test_the_case_list_is_newest_received_first_and_a_branch_sees_only_its_own(
    database: Database,
) -> None:
    engine = prepared(database)
    with Session(engine) as session:
        for case_no, unit, hours, kind in [
            ("TS1", "guichi", 5, CaseKind.COMPLAINT),
            ("TS2", "guichi", 1, CaseKind.COMPLAINT),
            ("TS3", "guichi", 3, CaseKind.REPORT),
            ("TS4", "guichi", 3, CaseKind.COMPLAINT),  # received with TS3: the later id first
            ("TS5", "dongzhi", 2, CaseKind.COMPLAINT),
            ("TB1", "city", 0, CaseKind.BULLETIN),  # the bureau's own files: never listed
            ("ZX1", "city", 0, CaseKind.CAMPAIGN),
        ]:
            received = NOW - timedelta(hours=hours)
            session.add(a_case(case_no, unit=unit, received=received, kind=kind))
        session.commit()
    for user, listed in [
        (OPERATOR, ["TS2", "TS5", "TS4", "TS3", "TS1"]),
        (HANDLER, ["TS2", "TS4", "TS3", "TS1"]),
    ]:
        with Session(engine) as session:
            rows, count, exact = cases.list_visible(
                session=session,
                user=user,
                kind=None,
                status=None,
                unit=None,
                overdue=None,
                limit=50,
                offset=0,
            )
        assert [c.case_no for c in rows] == listed, user.username
        assert (count, exact) == (len(listed), True)


def test_a_list_counts_its_rows_so_far_past_the_page_and_says_when_there_are_more(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.db, "COUNT_AHEAD", 3)
    engine = prepared(database)
    with Session(engine) as session:
        for i in range(5):
            received = NOW - timedelta(hours=i)
            session.add(a_case(f"TS{i}", unit="guichi", received=received, kind=CaseKind.COMPLAINT))
        session.flush()
        for due in range(5):
            session.add(a_task("TS0", Role.HANDLER, "guichi", TaskStatus.OPEN, due))
        session.commit()

    def counted(offset: int) -> tuple[tuple[int, bool], tuple[int, bool]]:
        with Session(engine) as session:
            _, count, exact = cases.list_visible(
                session=session,
                user=HANDLER,
                kind=None,
                status=None,
                unit=None,
                overdue=None,
                limit=1,
                offset=offset,
            )
            tasks = inbox.listing(
                session=session,
                user=HANDLER,
                status=TaskStatus.OPEN,
                kind=None,
                case_no=None,
                limit=1,
                offset=offset,
            )
        return (count, exact), (tasks.count, tasks.count_exact)

    assert counted(0) == ((3, False), (3, False))  # more than 3
    assert counted(1) == ((4, False), (4, False))  # more than 4: the count covers the page
    assert counted(2) == ((5, True), (5, True))


@contextmanager
def plans(engine: Engine) -> Iterator[list[str]]:
    """The SQLite plan lines of every SELECT run inside the block."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    lines: list[str] = []
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield lines
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as connection:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                found = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                lines.extend(row[-1] for row in found)


def test_on_sqlite_each_list_is_read_from_its_index_and_stops_at_the_page(
    sqlite_database: Database,
) -> None:
    """SQLite keeps no statistics here, so its plan is the same for ten cases as for a
    million: each statement a range of the index its list is read in, no table scanned,
    nothing sorted but the page of each kind the city-wide case list merges."""
    engine = prepared(sqlite_database)
    calendar = WorkingCalendar()

    def tasks(user: User) -> Callable[[Session], Any]:
        return lambda s: inbox.listing(
            session=s,
            user=user,
            status=TaskStatus.OPEN,
            kind=None,
            case_no=None,
            limit=50,
            offset=0,
        )

    def case_list(user: User) -> Callable[[Session], Any]:
        return lambda s: cases.list_visible(
            session=s,
            user=user,
            kind=None,
            status=None,
            unit=None,
            overdue=None,
            limit=50,
            offset=0,
        )

    def overdue(unit: str | None) -> Callable[[Session], Any]:
        return lambda s: supervision.overdue(
            session=s, calendar=calendar, unit=unit, today=date(2026, 12, 1), limit=100, offset=0
        )

    with Session(engine) as session:  # a page of overdue deadlines looks up their tasks
        session.add(a_case("TS1", unit="guichi", received=NOW, kind=CaseKind.COMPLAINT))
        session.flush()
        session.add(
            Deadline(
                case_no="TS1",
                name="handle",
                unit="guichi",
                started_on=date(2026, 10, 1),
                working_days=45,
                due_date=date(2026, 11, 27),
                due_at=NOW - timedelta(days=3),
                state=DeadlineState.OVERDUE,
                rule_set="samr-order-121",
            )
        )
        session.commit()
    for name, run, index in [
        ("inbox, operator", tasks(OPERATOR), "ix_task_open_role_status_due"),
        ("inbox, handler", tasks(HANDLER), "ix_task_open_unit_status_due"),
        ("inbox, supervisor", tasks(SUPERVISOR), "ix_task_open_status_due"),
        ("cases, city-wide", case_list(OPERATOR), "ix_case_kind_received_at_id"),
        ("cases, branch", case_list(HANDLER), "ix_case_unit_received_at_id"),
        ("overdue", overdue(None), "ix_deadline_open_state_met_unit_due"),
        ("overdue, guichi", overdue("guichi"), "ix_deadline_open_state_met_unit_due"),
    ]:
        with plans(engine) as lines, Session(engine) as session:
            run(session)
        assert any(index in line for line in lines), (name, lines)
        scans = [line for line in lines if line.startswith("SCAN ") and "anon" not in line]
        assert not scans, (name, lines)
        if name != "cases, city-wide":
            assert not any("TEMP B-TREE" in line for line in lines), (name, lines)
