"""Reading deadlines."""

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState

# A deadline still running, overdue, or with its clock stopped.
OPEN_STATES = (DeadlineState.PENDING, DeadlineState.OVERDUE, DeadlineState.PAUSED)


def open_where(state: DeadlineState) -> list[ColumnElement[bool]]:
    """The bureau's deadlines in ``state`` and not met: with ``overdue``, those it is late
    on (超期: the overdue list, its count and the ``/metrics`` gauge); with ``pending``,
    those running. A deadline met late keeps the state ``overdue``: ``met_at`` tells.

    ``met_at IS NULL`` stays a literal (not a bound parameter), so the partial index of
    open deadlines (``ix_deadline_open_state_met_unit_due``) serves it, not the index of
    every deadline ever missed.
    """
    return [
        col(Deadline.state) == state,
        col(Deadline.met_at).is_(None),
        # A court's time (司法确认, 诉讼) is watched by the branch, not a deadline it can miss.
        col(Deadline.policy) != DeadlinePolicy.WATCH,
    ]


def of_case(*, session: Session, case_no: str) -> list[Deadline]:
    """Every deadline of the case, met or not, oldest first."""
    return list(
        session.exec(
            select(Deadline).where(Deadline.case_no == case_no).order_by(col(Deadline.id))
        ).all()
    )


def is_open(deadline: Deadline) -> bool:
    """Not met, and running, overdue or with its clock stopped (as ``open_of_case`` reads)."""
    return deadline.met_at is None and deadline.state in OPEN_STATES


def open_of_case(*, session: Session, case_no: str) -> list[Deadline]:
    """The case's open deadlines, oldest first."""
    return list(
        session.exec(
            select(Deadline)
            .where(Deadline.case_no == case_no, col(Deadline.met_at).is_(None))
            .where(col(Deadline.state).in_(OPEN_STATES))
            .order_by(col(Deadline.id))
        ).all()
    )
