"""What a person asks of a deadline's clock, checked and made a decision for the workflow
that times it: pause it (鉴定检测), resume it, or ask for more time (延期申请)."""

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from api import process
from api.casefile import service as casefile
from api.clock.steps import extension_refusal, pending_extension
from api.config import Settings
from api.deadlines.models import Deadline, DeadlineState
from api.errors import Conflict, NotAllowed, invalid
from api.mediation.models import Mediation
from api.rules.service import rules_in_force
from api.users.models import CITY_UNIT, Role, User
from workflows.case import CaseWorkflow
from workflows.messages import ClockInput


def open_deadline(session: Session, case_no: str, name: str) -> Deadline:
    """The case's open deadline of that name (the latest, if one was opened again)."""
    deadline = session.exec(
        select(Deadline)
        .where(Deadline.case_no == case_no, Deadline.name == name)
        .where(col(Deadline.met_at).is_(None))
        .order_by(col(Deadline.id).desc())
    ).first()
    if deadline is None:
        raise Conflict("deadline.not_open", f"case {case_no} has no open {name} deadline")
    return deadline


def may_hold(user: User, deadline: Deadline) -> None:
    """The clock of a deadline is for the unit that must meet it (or a city supervisor)."""
    if user.role == Role.SUPERVISOR and user.unit == CITY_UNIT:
        return
    if (
        user.role not in (Role.HANDLER, Role.OPERATOR, Role.SUPERVISOR)
        or user.unit != deadline.unit
    ):
        raise NotAllowed(
            "deadline.not_yours",
            f"the {deadline.name} deadline is held by unit {deadline.unit}, not by you",
        )


def decision(
    *,
    session: Session,
    settings: Settings,
    user: User,
    case_no: str,
    name: str,
    body: dict[str, Any],
    handler: Callable[..., Any],
) -> process.Decision:
    """The clock change to send to the workflow that times the deadline."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    deadline = open_deadline(session, case.case_no, name)
    may_hold(user, deadline)
    if handler is CaseWorkflow.request_extension:
        refusal = extension_refusal(
            rules_in_force(session=session, settings=settings),
            case,
            deadline,
            int(body["working_days"]),
            pending_extension(session, deadline) is not None,
            asking=True,
        )
        if refusal is not None:
            if refusal.code == "extension.too_long":
                raise invalid("working_days", refusal.message, refusal.code)
            raise refusal
    elif handler is CaseWorkflow.pause_clock and deadline.state != DeadlineState.PENDING:
        raise Conflict(
            "deadline.not_running",
            f"the clock of the {name} deadline is {deadline.state}, not running",
        )
    elif handler is CaseWorkflow.resume_clock and deadline.state != DeadlineState.PAUSED:
        raise Conflict("deadline.not_paused", f"the clock of the {name} deadline is not paused")
    # A rung's deadline (the 45 days of mediation) is timed by its mediation's workflow.
    mediation = session.get(Mediation, deadline.mediation_id) if deadline.mediation_id else None
    deadline_id = deadline.id or 0
    return process.Decision(
        case_no=case.case_no,
        workflow_id=process.owner_of(case, mediation.number if mediation else None),
        handler=handler,
        target=f"deadline:{deadline_id}",
        actor=user.username,
        body=body,
        arg_for=lambda submission_id: ClockInput(
            deadline_id=deadline_id, submission_id=submission_id
        ),
    )
