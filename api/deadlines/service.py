"""Reading deadlines."""

from sqlmodel import Session, col, select

from api.deadlines.models import Deadline, DeadlineState

# A deadline still running, overdue, or with its clock stopped.
OPEN_STATES = (DeadlineState.PENDING, DeadlineState.OVERDUE, DeadlineState.PAUSED)


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
