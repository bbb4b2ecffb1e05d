"""The working-day calendar: statutory clocks in PRC working days, no DB, no Temporal.

Expected dates below were counted by hand from the 2026 arrangement (放假调休安排) as the
chinesecalendar package holds it: National Day 10-01..10-07 with make-up Sun 09-20 and Sat 10-10,
Mid-Autumn Fri 09-25, Spring Festival 02-15..02-23 with make-up Sat 02-14 and Sat 02-28,
Qingming 04-04..04-06.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from api.workdays import (
    ZONE,
    WorkingCalendar,
    WorkingDayResult,
    YearArrangement,
    deadline_instant,
    local_date,
)

# Invented for the tests: the 2027 arrangement is not published. A Friday holiday and a
# Saturday make-up day, so a count through early January can tell the table was used.
TABLE_2027 = YearArrangement(
    year=2027,
    holidays=frozenset({date(2027, 1, 1)}),
    workdays=frozenset({date(2027, 1, 9)}),
)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def test_triage_over_national_day_ends_thursday_15_october(calendar: WorkingCalendar) -> None:
    # Received Wed 09-30: 10-01..10-07 off, then 10-08, 10-09, Sat 10-10 (调休), 10-12..10-15.
    result = calendar.add_working_days(date(2026, 9, 30), 7)

    assert result == WorkingDayResult(end=date(2026, 10, 15), provisional=False)


def test_national_day_2026_days_off_and_make_up_days(calendar: WorkingCalendar) -> None:
    assert calendar.is_working_day(date(2026, 9, 20))  # Sunday, 调休上班
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, 调休上班
    assert not calendar.is_working_day(date(2026, 9, 25))  # Friday, 中秋节
    for day in range(1, 8):
        assert not calendar.is_working_day(date(2026, 10, day))
    assert calendar.is_working_day(date(2026, 10, 8))
    assert not calendar.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_start_on_a_weekend_is_not_counted(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 3, 7), 1).end == date(2026, 3, 9)  # Sat → Mon
    assert calendar.add_working_days(date(2026, 3, 8), 1).end == date(2026, 3, 9)  # Sun → Mon


def test_start_on_a_holiday_counts_from_the_first_working_day_after(
    calendar: WorkingCalendar,
) -> None:
    # chinesecalendar.find_workday would say 10-09 here: one day late.
    assert calendar.add_working_days(date(2026, 10, 1), 1).end == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 10, 3), 3).end == date(2026, 10, 10)


def test_start_on_a_working_day_is_not_counted(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 3, 9), 1).end == date(2026, 3, 10)
    assert calendar.add_working_days(date(2026, 3, 13), 1).end == date(2026, 3, 16)  # Fri → Mon


def test_zero_days_is_the_start_itself_and_negative_is_refused(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2027, 6, 5), 0) == WorkingDayResult(
        end=date(2027, 6, 5), provisional=False
    )
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 3, 9), -1)


@pytest.mark.parametrize(
    ("accepted", "end"),
    [
        # Over Mid-Autumn and National Day: 6 weekdays off, 2 make-up days.
        (date(2026, 9, 14), date(2026, 11, 20)),
        # Over Spring Festival and Qingming: 6 weekdays off, 2 make-up Saturdays.
        (date(2026, 1, 30), date(2026, 4, 10)),
    ],
)
def test_handling_limit_of_45_working_days(
    calendar: WorkingCalendar, accepted: date, end: date
) -> None:
    assert calendar.add_working_days(accepted, 45) == WorkingDayResult(end=end, provisional=False)


def test_year_without_data_falls_back_to_monday_to_friday(calendar: WorkingCalendar) -> None:
    assert calendar.source(2027) == "provisional"
    assert calendar.source(2028) == "provisional"
    assert calendar.is_working_day(date(2028, 10, 2))  # a Monday; really National Day
    assert not calendar.is_working_day(date(2028, 10, 7))  # a Saturday
    # Fri 2028-06-02 + 3 → Mon, Tue, Wed.
    assert calendar.add_working_days(date(2028, 6, 2), 3) == WorkingDayResult(
        end=date(2028, 6, 7), provisional=True
    )
    assert calendar.arrangement(2028) == YearArrangement(2028, frozenset(), frozenset())


def test_period_crossing_into_a_year_without_data_is_provisional(
    calendar: WorkingCalendar,
) -> None:
    # 12-29, 12-30, 12-31, then 2027 on Mon–Fri: 01-01 (Fri), 01-04, 01-05, 01-06.
    assert calendar.add_working_days(date(2026, 12, 28), 7) == WorkingDayResult(
        end=date(2027, 1, 6), provisional=True
    )
    # Ending on the last day with data is firm.
    assert calendar.add_working_days(date(2026, 12, 28), 3) == WorkingDayResult(
        end=date(2026, 12, 31), provisional=False
    )


def test_a_2027_table_makes_the_period_firm_and_is_honoured() -> None:
    calendar = WorkingCalendar({2027: TABLE_2027})

    assert calendar.source(2027) == "table"
    assert calendar.source(2026) == "package"
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 1, 9))
    # 12-29..12-31 (3), 01-01 off, 01-04..01-08 (8), Sat 01-09 (9).
    assert calendar.add_working_days(date(2026, 12, 28), 9) == WorkingDayResult(
        end=date(2027, 1, 9), provisional=False
    )
    # Without the table the same count lands on Friday 01-08 and is provisional.
    assert WorkingCalendar().add_working_days(date(2026, 12, 28), 9) == WorkingDayResult(
        end=date(2027, 1, 8), provisional=True
    )


def test_a_table_wins_over_the_package() -> None:
    # An admin correcting 2026: National Day Thursday becomes a working day.
    corrected = YearArrangement(2026, frozenset(), frozenset())
    calendar = WorkingCalendar({2026: corrected})

    assert calendar.source(2026) == "table"
    assert calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 9, 20))


def test_arrangement_lists_weekday_holidays_and_weekend_make_up_days(
    calendar: WorkingCalendar,
) -> None:
    year = calendar.arrangement(2026)

    assert date(2026, 10, 1) in year.holidays
    assert date(2026, 10, 3) not in year.holidays  # a Saturday: off anyway
    assert year.workdays == frozenset(
        {
            date(2026, 1, 4),
            date(2026, 2, 14),
            date(2026, 2, 28),
            date(2026, 5, 9),
            date(2026, 9, 20),
            date(2026, 10, 10),
        }
    )


def test_table_weekend_holidays_are_harmless() -> None:
    with_weekends = YearArrangement(
        2027, frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}), frozenset()
    )
    calendar = WorkingCalendar({2027: with_weekends})

    assert calendar.arrangement(2027).holidays == frozenset({date(2027, 1, 1)})
    assert calendar.working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 1


def test_inconsistent_tables_are_refused() -> None:
    with pytest.raises(ValueError):
        YearArrangement(2027, frozenset({date(2028, 1, 3)}), frozenset())
    with pytest.raises(ValueError):
        YearArrangement(2027, frozenset({date(2027, 1, 9)}), frozenset({date(2027, 1, 9)}))
    with pytest.raises(ValueError):
        WorkingCalendar({2028: TABLE_2027})


def test_a_datetime_is_refused_where_a_date_is_expected(calendar: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        calendar.is_working_day(datetime(2026, 10, 1, 9, 0, tzinfo=ZONE))


@pytest.mark.parametrize(
    "start",
    [
        date(2026, 9, 30),
        date(2026, 10, 3),
        date(2026, 1, 30),
        date(2026, 3, 7),
        date(2026, 12, 20),
        date(2027, 12, 31),
    ],
)
@pytest.mark.parametrize("n", [1, 2, 5, 7, 15, 45])
def test_working_days_between_agrees_with_add_working_days(start: date, n: int) -> None:
    calendar = WorkingCalendar({2027: TABLE_2027})
    end = calendar.add_working_days(start, n).end

    assert calendar.working_days_between(start, end) == n
    # The period's end is a working day: the day before it is one short.
    assert calendar.working_days_between(start, end - timedelta(days=1)) == n - 1
    # The fast count agrees with judging the days one at a time.
    days = (end - start).days
    judged = sum(calendar.is_working_day(start + timedelta(days=i)) for i in range(1, days + 1))
    assert judged == n


def test_working_days_between_is_zero_when_end_is_not_after_start(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.working_days_between(date(2026, 10, 15), date(2026, 10, 15)) == 0
    assert calendar.working_days_between(date(2026, 10, 15), date(2026, 9, 30)) == 0
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0


def test_deadline_ends_at_24_00_shanghai() -> None:
    instant = deadline_instant(date(2026, 10, 15))

    assert instant == datetime(2026, 10, 16, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    assert instant.isoformat() == "2026-10-16T00:00:00+08:00"
    assert instant == datetime(2026, 10, 15, 16, 0, tzinfo=UTC)


def test_local_date_is_the_shanghai_date() -> None:
    # 17:30 UTC is already 01:30 the next day in Shanghai.
    assert local_date(datetime(2026, 9, 29, 17, 30, tzinfo=UTC)) == date(2026, 9, 30)
    assert local_date(datetime(2026, 9, 30, 23, 59, tzinfo=ZONE)) == date(2026, 9, 30)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 9, 30, 12, 0))
