from sqlmodel import Session

from api.calendar.workdays import WorkingCalendar

_PACKAGE_ONLY = WorkingCalendar()


def working_calendar(*, session: Session) -> WorkingCalendar:
    """The calendar in force: the package's years, then the Mon–Fri provisional fallback.

    The admin-maintained year table plugs in here (issue #3).
    """
    del session
    return _PACKAGE_ONLY
