"""PRC working days (工作日) for statutory clocks.

A year's arrangement (放假调休安排) comes from, in order: the admin-maintained table, the
``chinesecalendar`` package, or, for a year nobody has published yet, a Monday–Friday
fallback whose results are marked provisional. The day a period starts from is never
counted, and a deadline ends at 24:00 Asia/Shanghai on its last day.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

ZONE = ZoneInfo("Asia/Shanghai")

CalendarSource = Literal["table", "package", "provisional"]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class YearArrangement:
    """One year's official arrangement (放假调休安排)."""

    year: int
    # Days off that would otherwise be working days (Mon–Fri); weekend holiday days are harmless.
    holidays: frozenset[date]
    # Make-up working days (调休上班) that fall on Sat/Sun.
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        # Accept any iterable of dates so an admin table can be built from lists.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        for day in self.holidays | self.workdays:
            _require_date(day)
            if day.year != self.year:
                raise ValueError(f"{day} does not belong to the {self.year} arrangement")
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"days listed as both holiday and workday: {sorted(both)}")


@dataclass(frozen=True)
class WorkingDayResult:
    end: date  # the last day of the period
    provisional: bool  # True if the period touches a year with no data (Mon–Fri fallback)


class WorkingCalendar:
    """Working days from admin tables, then the package, then a provisional Mon–Fri fallback.

    Immutable: when an admin edits a table, build a new calendar and recompute open deadlines.
    """

    def __init__(self, tables: Mapping[int, YearArrangement] | None = None) -> None:
        self._tables: dict[int, YearArrangement] = {}
        for year, arrangement in (tables or {}).items():
            if arrangement.year != year:
                raise ValueError(f"table for {year} holds the {arrangement.year} arrangement")
            self._tables[year] = _normalised(arrangement)

    def source(self, year: int) -> CalendarSource:
        if year in self._tables:
            return "table"
        if _package_arrangement(year) is not None:
            return "package"
        return "provisional"

    def arrangement(self, year: int) -> YearArrangement:
        """The year's holidays on Mon–Fri and make-up days on Sat/Sun; empty if provisional."""
        found = self._tables.get(year) or _package_arrangement(year)
        return found if found is not None else YearArrangement(year, frozenset(), frozenset())

    def is_working_day(self, day: date) -> bool:
        _require_date(day)
        year = self.arrangement(day.year)
        if day in year.workdays:
            return True
        if day in year.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> WorkingDayResult:
        """The n-th working day after start; start itself never counts, whatever it is."""
        _require_date(start)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = start
        remaining = n
        while remaining:
            day += _ONE_DAY
            if self.is_working_day(day):
                remaining -= 1
        return WorkingDayResult(end=day, provisional=self._provisional_within(start, day))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end; 0 if end <= start."""
        _require_date(start)
        _require_date(end)
        if end <= start:
            return 0
        count = _weekdays_through(end) - _weekdays_through(start)
        for year in range(start.year, end.year + 1):
            arrangement = self.arrangement(year)
            count -= sum(1 for d in arrangement.holidays if start < d <= end)
            count += sum(1 for d in arrangement.workdays if start < d <= end)
        return count

    def _provisional_within(self, start: date, end: date) -> bool:
        # Every day in (start, end] was judged, counted or skipped, so each one's year matters.
        if end <= start:
            return False
        first = (start + _ONE_DAY).year
        return any(self.source(year) == "provisional" for year in range(first, end.year + 1))


def deadline_instant(end: date) -> datetime:
    """The instant a deadline ending on `end` expires: 24:00 Asia/Shanghai, i.e. next day 00:00."""
    _require_date(end)
    return datetime.combine(end + _ONE_DAY, time(0), tzinfo=ZONE)


def local_midnight(day: date) -> datetime:
    """The instant the day begins in Asia/Shanghai: 00:00."""
    return datetime.combine(day, time(0), tzinfo=ZONE)


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware datetime."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: a time zone is required")
    return instant.astimezone(ZONE).date()


def _require_date(day: date) -> None:
    # A datetime is a date subclass but never equals one, so set lookups would silently miss.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}; use local_date() first")


def _normalised(arrangement: YearArrangement) -> YearArrangement:
    return YearArrangement(
        year=arrangement.year,
        holidays=frozenset(d for d in arrangement.holidays if d.weekday() < 5),
        workdays=frozenset(d for d in arrangement.workdays if d.weekday() >= 5),
    )


@cache
def _package_arrangement(year: int) -> YearArrangement | None:
    """The package's arrangement for `year`, or None where it has no data (asked once a year)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    holidays: set[date] = set()
    workdays: set[date] = set()
    day = date(year, 1, 1)
    while day.year == year:
        weekday = day.weekday() < 5
        if chinese_calendar.is_workday(day) != weekday:
            (holidays if weekday else workdays).add(day)
        day += _ONE_DAY
    return YearArrangement(year, frozenset(holidays), frozenset(workdays))


def _weekdays_through(day: date) -> int:
    """Mon–Fri days from 0001-01-01 (a Monday) through `day` inclusive."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)
