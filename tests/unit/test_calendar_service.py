"""The calendar table (日历表) over the package: a real SQLite database, no Temporal.

The 2027 arrangements below are invented: the State Council has not published 2027 here.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.calendar import service as calendars
from api.calendar.models import CalendarChange
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import Case
from api.config import Settings
from api.db import make_engine
from api.deadlines.models import Deadline, DeadlineState
from api.errors import Invalid
from api.main import prepare_database
from api.workdays import WorkingDayResult, deadline_instant

NEW_YEAR_2027 = date(2027, 1, 1)  # a Friday


def _engine(data_dir: Path) -> Iterator[Engine]:
    settings = Settings(data_dir=data_dir, seed_demo_users=False)  # no password hashing
    engine = make_engine(settings)
    prepare_database(engine, settings)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(tmp_path / "one")


@pytest.fixture
def other_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(tmp_path / "other")


def set_2027(
    engine: Engine, holidays: list[date], workdays: list[date] | None = None, by: str = "admin"
) -> None:
    with Session(engine) as session:
        calendars.set_year(
            session=session, year=2027, holidays=holidays, workdays=workdays or [], by=by
        )


def source_and_count(engine: Engine, year: int) -> tuple[str, WorkingDayResult]:
    with Session(engine) as session:
        calendar = calendars.working_calendar(session=session)
        return calendar.source(year), calendar.add_working_days(date(2026, 12, 28), 7)


def test_a_2027_table_makes_a_count_into_2027_firm_and_honours_its_holiday(
    engine: Engine,
) -> None:
    assert source_and_count(engine, 2027) == (
        "provisional",
        WorkingDayResult(end=date(2027, 1, 6), provisional=True),  # Fri 01-01 counted Mon–Fri
    )

    set_2027(engine, holidays=[NEW_YEAR_2027], workdays=[date(2027, 1, 9)])

    # Mon 12-28: 12-29, 12-30, 12-31, (01-01 off), 01-04, 01-05, 01-06, 01-07.
    assert source_and_count(engine, 2027) == (
        "table",
        WorkingDayResult(end=date(2027, 1, 7), provisional=False),
    )


def test_the_calendar_sees_every_later_change(engine: Engine) -> None:
    set_2027(engine, holidays=[NEW_YEAR_2027])
    assert source_and_count(engine, 2027)[1].end == date(2027, 1, 7)

    set_2027(engine, holidays=[NEW_YEAR_2027, date(2027, 1, 4)])  # a second change, same count
    assert source_and_count(engine, 2027)[1].end == date(2027, 1, 8)

    with Session(engine) as session:
        calendars.set_year(session=session, year=2028, holidays=[], workdays=[], by="admin")
        assert calendars.working_calendar(session=session).source(2028) == "table"


def test_each_database_has_its_own_calendar(engine: Engine, other_engine: Engine) -> None:
    set_2027(engine, holidays=[NEW_YEAR_2027])

    assert source_and_count(engine, 2027)[0] == "table"
    assert source_and_count(other_engine, 2027)[0] == "provisional"


def test_a_table_year_wins_over_the_package(engine: Engine) -> None:
    with Session(engine) as session:
        assert calendars.working_calendar(session=session).is_working_day(date(2026, 9, 20))
        calendars.set_year(session=session, year=2026, holidays=[], workdays=[], by="admin")
        calendar = calendars.working_calendar(session=session)
        assert calendar.source(2026) == "table"
        assert not calendar.is_working_day(date(2026, 9, 20))  # an ordinary Sunday now


def changes_2027(engine: Engine) -> list[CalendarChange]:
    with Session(engine) as session:
        return list(calendars.changes(session=session, year=2027))


def test_each_change_is_recorded_once_with_before_and_after(engine: Engine) -> None:
    set_2027(engine, holidays=[NEW_YEAR_2027], by="admin")
    set_2027(engine, holidays=[NEW_YEAR_2027], by="admin")  # the same again: no change
    set_2027(engine, holidays=[], workdays=[date(2027, 1, 9)], by="admin2")

    first, second = changes_2027(engine)
    assert (first.by, first.before) == ("admin", None)
    assert first.after == {"holidays": ["2027-01-01"], "workdays": []}
    assert second.by == "admin2"
    assert second.before == first.after
    assert second.after == {"holidays": [], "workdays": ["2027-01-09"]}


def test_weekend_days_of_a_break_are_kept_as_given(engine: Engine) -> None:
    break_days = [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]  # Fri, Sat, Sun
    set_2027(engine, holidays=break_days)

    assert changes_2027(engine)[0].after["holidays"] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    with Session(engine) as session:
        arrangement = calendars.working_calendar(session=session).arrangement(2027)
    assert arrangement.holidays == {NEW_YEAR_2027}


@pytest.mark.parametrize(
    ("holidays", "workdays", "named"),
    [
        ([date(2028, 1, 3)], [], "2028-01-03 is not in 2027"),
        ([NEW_YEAR_2027, NEW_YEAR_2027], [], "2027-01-01 is listed twice"),
        ([date(2027, 1, 9)], [date(2027, 1, 9)], "2027-01-09 is listed both"),
        ([], [date(2027, 1, 4)], "2027-01-04 is a weekday"),
    ],
)
def test_an_impossible_arrangement_is_refused_and_not_stored(
    engine: Engine, holidays: list[date], workdays: list[date], named: str
) -> None:
    with pytest.raises(Invalid) as refused:
        set_2027(engine, holidays=holidays, workdays=workdays)

    assert refused.value.status_code == 422
    assert any(named in error["msg"] for error in refused.value.detail)
    assert source_and_count(engine, 2027)[0] == "provisional"
    assert changes_2027(engine) == []


def add_case(session: Session, case_no: str) -> None:
    session.add(
        Case(
            case_no=case_no,
            kind=CaseKind.COMPLAINT,
            channel=Channel.HOTLINE,
            status=Status.TRIAGE,
            received_at=datetime(2026, 12, 1, tzinfo=UTC),
            registered_by="operator",
            registered_unit="city",
            rule_set="samr-order-121",
        )
    )


def add_deadline(
    session: Session,
    case_no: str,
    started_on: date,
    due_date: date,
    *,
    provisional: bool = False,
    state: DeadlineState = DeadlineState.PENDING,
    met_at: datetime | None = None,
) -> None:
    add_case(session, case_no)
    session.add(
        Deadline(
            case_no=case_no,
            name="handle",
            started_on=started_on,
            working_days=45,
            due_date=due_date,
            due_at=deadline_instant(due_date),
            provisional=provisional,
            state=state,
            rule_set="samr-order-121",
            met_at=met_at,
        )
    )


def test_the_open_deadlines_a_year_moves(engine: Engine) -> None:
    with Session(engine) as session:
        add_deadline(session, "CROSSING", date(2026, 12, 28), date(2027, 1, 6), provisional=True)
        add_deadline(
            session,
            "MET",
            date(2026, 12, 28),
            date(2027, 1, 6),
            provisional=True,
            state=DeadlineState.MET,
            met_at=datetime(2026, 12, 30, tzinfo=UTC),
        )
        add_deadline(session, "IN-2026", date(2026, 12, 1), date(2026, 12, 10))
        add_deadline(
            session,
            "OVERDUE",
            date(2026, 11, 2),
            date(2027, 1, 5),
            provisional=True,
            state=DeadlineState.OVERDUE,
        )
        add_deadline(session, "IN-2028", date(2028, 2, 1), date(2028, 2, 10))
        session.commit()

        assert calendars.open_deadline_case_nos(session=session, year=2027) == [
            "CROSSING",
            "OVERDUE",
        ]
        assert calendars.open_deadline_case_nos(session=session, year=2026) == [
            "CROSSING",
            "IN-2026",
            "OVERDUE",
        ]


def test_a_case_with_two_open_deadlines_in_the_year_is_listed_once(engine: Engine) -> None:
    with Session(engine) as session:
        add_deadline(session, "TWICE", date(2026, 12, 28), date(2027, 1, 6), provisional=True)
        session.add(
            Deadline(
                case_no="TWICE",
                name="triage",
                started_on=date(2027, 1, 4),
                working_days=7,
                due_date=date(2027, 1, 13),
                due_at=deadline_instant(date(2027, 1, 13)),
                provisional=True,
                state=DeadlineState.PAUSED,
                rule_set="samr-order-121",
            )
        )
        session.commit()

        assert calendars.open_deadline_case_nos(session=session, year=2027) == ["TWICE"]
