"""Deadline arithmetic from its parts, and the instants of the supervision ladder."""

from datetime import date, datetime

from api.deadlines.models import Deadline, DeadlinePause
from api.deadlines.reckoning import (
    EscalationPolicy,
    paused_working_days,
    reckon,
    set_due,
    working_day_before,
)
from api.workdays import ZONE, WorkingCalendar, YearArrangement

CALENDAR = WorkingCalendar()
LADDER = EscalationPolicy(warning=2, notice=1, criticism=5)


def handle_deadline(**parts: int) -> Deadline:
    return Deadline(
        case_no="TS1",
        name="handle",
        started_on=date(2026, 9, 30),
        working_days=7,
        due_date=date(2026, 9, 30),
        due_at=datetime(2026, 9, 30, tzinfo=ZONE),
        rule_set="samr-order-121",
        **parts,
    )


def test_the_last_day_counts_from_the_parts() -> None:
    assert reckon(CALENDAR, handle_deadline()) == (date(2026, 10, 15), False)
    # Two approved working days and three paused ones move it five working days on.
    moved = handle_deadline(extended_working_days=2, paused_working_days=3)
    assert reckon(CALENDAR, moved) == (date(2026, 10, 22), False)


def test_the_ladder_rungs_around_thursday_15_october() -> None:
    deadline = handle_deadline()
    set_due(CALENDAR, LADDER, deadline, date(2026, 10, 15), False)
    assert deadline.due_at == datetime(2026, 10, 16, tzinfo=ZONE)
    # Warned when two working days are left: Wednesday and Thursday.
    assert deadline.warn_at == datetime(2026, 10, 14, tzinfo=ZONE)
    # A chase notice once a full working day (Friday) has passed overdue.
    assert deadline.notice_at == datetime(2026, 10, 17, tzinfo=ZONE)
    # Criticism five working days after the notice day: Fri 16 → Fri 23.
    assert deadline.criticise_at == datetime(2026, 10, 24, tzinfo=ZONE)


def test_working_days_back_skip_the_national_day_holiday() -> None:
    # 2026-10-08 (Thu) is the first working day after the holiday; 2026-09-30 two before it
    # is 09-29 since 10-01..10-07 are off.
    assert working_day_before(CALENDAR, date(2026, 10, 8), 2) == date(2026, 9, 29)
    assert working_day_before(CALENDAR, date(2026, 10, 8), 0) == date(2026, 10, 8)


def test_a_pause_counts_the_working_days_it_stood_the_first_day_not_counted() -> None:
    pause = DeadlinePause(
        deadline_id=1,
        case_no="TS1",
        started_at=datetime(2026, 11, 2, 9, tzinfo=ZONE),  # Monday
        ended_at=datetime(2026, 11, 9, 17, tzinfo=ZONE),  # next Monday
        by="guichi",
    )
    assert paused_working_days(CALENDAR, pause) == 5


def test_a_deadline_into_a_year_without_data_is_provisional_until_the_year_is_known() -> None:
    deadline = handle_deadline()
    deadline.started_on = date(2026, 12, 28)
    end, provisional = reckon(CALENDAR, deadline)
    assert (end, provisional) == (date(2027, 1, 6), True)
    known = WorkingCalendar(
        {2027: YearArrangement(2027, frozenset({date(2027, 1, 1)}), frozenset())}
    )
    assert reckon(known, deadline) == (date(2027, 1, 7), False)
