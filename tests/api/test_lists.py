"""The lists a clerk opens most: the case list and the inbox, and their count (counted so
far past the page, and no further)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import api.db
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import Case
from api.cases import service as cases
from api.inbox import service as inbox
from api.main import prepare_database
from api.tasks.models import Task, TaskKind, TaskStatus
from api.users.models import Role, User
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
