"""Deadline arithmetic: a deadline's last day from its parts, and its escalation (督办).

A deadline counts ``working_days`` (or ``calendar_days``) from ``started_on`` — that day
not counted — plus the approved extensions and the working days its clock stood paused.
Because the parts are kept, a changed calendar recomputes it exactly.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from api.config import Settings
from api.deadlines.models import Deadline, DeadlinePause, DeadlinePolicy
from api.workdays import WorkingCalendar, deadline_instant, local_date


@dataclass(frozen=True)
class EscalationPolicy:
    """The escalation of a late deadline (督办), in working days."""

    warning: int  # 预警：最后一日之前
    notice: int  # 催办通知书：超期之后
    criticism: int  # 通报批评：催办之后

    @classmethod
    def of(cls, settings: Settings) -> "EscalationPolicy":
        return cls(
            warning=settings.escalation_warning_working_days,
            notice=settings.escalation_notice_working_days,
            criticism=settings.escalation_criticism_working_days,
        )


def working_day_before(calendar: WorkingCalendar, day: date, n: int) -> date:
    """The working day ``n`` working days before ``day`` (``day`` itself for 0)."""
    found = day
    while n > 0:
        found -= timedelta(days=1)
        if calendar.is_working_day(found):
            n -= 1
    return found


def paused_working_days(calendar: WorkingCalendar, pause: DeadlinePause) -> int:
    """Working days a finished pause stopped the clock: the day it began not counted."""
    assert pause.ended_at is not None
    return calendar.working_days_between(local_date(pause.started_at), local_date(pause.ended_at))


def reckon(calendar: WorkingCalendar, deadline: Deadline) -> tuple[date, bool]:
    """The last day and whether it is provisional, from the deadline's parts."""
    if deadline.working_days is not None:
        total = deadline.working_days + deadline.extended_working_days
        counted = calendar.add_working_days(
            deadline.started_on, total + deadline.paused_working_days
        )
        return counted.end, counted.provisional
    if deadline.calendar_days is not None:
        # Calendar-day limits (investigation) extend by calendar days; a pause still
        # stops them for the working days it lasted.
        end = deadline.started_on + timedelta(
            days=deadline.calendar_days + deadline.extended_working_days
        )
        counted = calendar.add_working_days(end, deadline.paused_working_days)
        return counted.end, counted.provisional
    raise ValueError(f"deadline {deadline.name} has no length")


def set_due(
    calendar: WorkingCalendar,
    policy: EscalationPolicy,
    deadline: Deadline,
    due_date: date,
    provisional: bool,
) -> None:
    """Sets the last day and the instants of its escalation's rungs."""
    deadline.due_date = due_date
    deadline.due_at = deadline_instant(due_date)
    deadline.provisional = provisional
    deadline.warn_at = deadline_instant(working_day_before(calendar, due_date, policy.warning))
    if deadline.policy != DeadlinePolicy.SUPERVISE:
        # It ends by itself, or is another authority's: a reminder before it, no chase.
        deadline.notice_at = deadline.criticise_at = None
        return
    notice_day = calendar.add_working_days(due_date, policy.notice).end
    deadline.notice_at = deadline_instant(notice_day)
    criticism_day = calendar.add_working_days(notice_day, policy.criticism).end
    deadline.criticise_at = deadline_instant(criticism_day)
