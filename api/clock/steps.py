"""The clock of a deadline: pauses for testing or appraisal (鉴定检测), extensions asked for
and granted, and recomputation when the working-day calendar changes."""

from datetime import datetime

from sqlmodel import Session, col, select

from api.casefile.models import Case
from api.db import utcnow
from api.deadlines import service as deadlines
from api.deadlines.models import Deadline, DeadlinePause, DeadlineState
from api.deadlines.reckoning import paused_working_days
from api.errors import Conflict, Refused
from api.rules.rulesets import RuleBook
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.tasks import forms
from api.tasks.models import ACTIVE, Task, TaskKind
from api.users.models import CITY_UNIT
from workflows.messages import RecordStepInput


def extension_refusal(
    rules: RuleBook,
    case: Case,
    deadline: Deadline,
    working_days: int,
    pending: bool,
    *,
    asking: bool = False,
) -> Refused | None:
    """Why an extension of the deadline cannot be asked for (``asking``) or granted now, if
    it cannot.

    A statutory extension (核查 +15 working days, 调查 +30 days) is granted once, and by
    the figure the rule set allows at most; a deadline has one request open at a time, and
    a paused clock (鉴定检测) is resumed before more time is asked for.
    """
    if asking and deadline.state == DeadlineState.PAUSED:
        return Refused(
            "deadline.paused",
            f"the clock of the {deadline.name} deadline is paused (鉴定检测); resume it "
            "before asking for an extension",
        )
    if pending:
        return Refused(
            "extension.pending",
            f"an extension of the {deadline.name} deadline is already waiting for approval",
        )
    limit = rules.by_code(case.rule_set).limits.get(deadline.name)
    if limit is None:
        return None  # a duty's deadline (示范点, 整改): no statutory cap, the supervisor's call
    most = limit.extension_working_days or limit.extension_calendar_days
    if most is None:
        return None
    if deadline.extended_working_days:
        return Refused(
            "extension.already_granted",
            f"the {deadline.name} deadline has been extended once already; the law allows "
            "one extension",
        )
    if working_days > most:
        return Refused(
            "extension.too_long",
            f"the {deadline.name} deadline can be extended by {most} days at most",
        )
    return None


def pending_extension(session: Session, deadline: Deadline) -> Task | None:
    """The open request to extend the deadline, if there is one."""
    return session.exec(
        select(Task).where(
            Task.deadline_id == deadline.id,
            Task.kind == TaskKind.APPROVE_EXTENSION,
            col(Task.status).in_(ACTIVE),
        )
    ).first()


def extend(
    ctx: StepContext,
    case: Case,
    deadline: Deadline,
    working_days: int,
    actor: str,
    at: datetime,
    reason: str,
) -> None:
    """Moves the deadline's last day by ``working_days`` (an approved extension)."""
    if deadline.fixed:
        deadline.due_date = ctx.calendar.add_working_days(deadline.due_date, working_days).end
    deadline.extended_working_days += working_days
    kit.event(ctx, case, actor, "deadline_extended", name=deadline.name, working_days=working_days)
    kit.redate(ctx, case, deadline, actor, reason, at)


def pause(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """鉴定检测: the deadline's clock stops."""
    deadline = kit.deadline_of(ctx, case, input.deadline_id)
    submission = kit.submission_of(ctx, case, input)
    if deadline.state != DeadlineState.PENDING or deadline.met_at is not None:
        raise Conflict("deadline.not_running", f"the {deadline.name} deadline is not running")
    deadline.state = DeadlineState.PAUSED
    ctx.session.add(deadline)
    ctx.session.add(
        DeadlinePause(
            deadline_id=deadline.id or 0,
            case_no=case.case_no,
            started_at=submission.created_at,
            reason=str(submission.body.get("reason", "")),
            by=submission.actor,
        )
    )
    kit.event(
        ctx,
        case,
        submission.actor,
        "clock_paused",
        deadline_id=deadline.id,
        name=deadline.name,
        state=deadline.state,
    )


def resume(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The testing or appraisal is over: the clock runs again, later by the days it stood."""
    deadline = kit.deadline_of(ctx, case, input.deadline_id)
    submission = kit.submission_of(ctx, case, input)
    stopped = ctx.session.exec(
        select(DeadlinePause).where(
            DeadlinePause.deadline_id == deadline.id, col(DeadlinePause.ended_at).is_(None)
        )
    ).first()
    if deadline.state != DeadlineState.PAUSED or stopped is None:
        raise Conflict("deadline.not_paused", f"the {deadline.name} deadline is not paused")
    stopped.ended_at = submission.created_at
    ctx.session.add(stopped)
    stood = paused_working_days(ctx.calendar, stopped)
    deadline.paused_working_days += stood
    if deadline.fixed:
        deadline.due_date = ctx.calendar.add_working_days(deadline.due_date, stood).end
    deadline.state = DeadlineState.PENDING
    kit.event(
        ctx,
        case,
        submission.actor,
        "clock_resumed",
        deadline_id=deadline.id,
        name=deadline.name,
        working_days=stood,
        state=deadline.state,
    )
    # Resumed after the moved date, it is overdue at once: the workflow's timer fires.
    kit.redate(ctx, case, deadline, submission.actor, "clock paused", submission.created_at)


def request_extension(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The handler asks for more time; the city supervisor approves or refuses."""
    deadline = kit.deadline_of(ctx, case, input.deadline_id)
    submission = kit.submission_of(ctx, case, input)
    days = int(submission.body["working_days"])
    pending = pending_extension(ctx.session, deadline) is not None
    refusal = extension_refusal(ctx.rules, case, deadline, days, pending, asking=True)
    if refusal is not None:
        raise refusal
    kit.open_task(
        ctx,
        case,
        TaskKind.APPROVE_EXTENSION,
        CITY_UNIT,
        bound_to=deadline,
        context={
            "deadline": deadline.name,
            "deadline_id": deadline.id,
            "working_days": days,
            "requested_by": submission.actor,
            "unit": deadline.unit,
        },
    )
    kit.event(
        ctx, case, submission.actor, "extension_requested", name=deadline.name, working_days=days
    )


def decide_extension(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """延期审批: the supervisor approves (the deadline moves) or refuses."""
    taken = kit.take(ctx, case, input, TaskKind.APPROVE_EXTENSION)
    assert isinstance(taken.body, forms.ExtensionDecision)
    deadline = kit.deadline_of(ctx, case, taken.task.deadline_id)
    days = int(taken.task.context["working_days"])
    if not taken.body.approve:
        kit.event(
            ctx, case, taken.actor, "extension_refused", name=deadline.name, working_days=days
        )
        return
    refusal = extension_refusal(ctx.rules, case, deadline, days, pending=False)
    if refusal is not None:
        # Granted already (before the rule was enforced here): the law allows one.
        raise refusal
    kit.event(ctx, case, taken.actor, "extension_approved", name=deadline.name, working_days=days)
    extend(ctx, case, deadline, days, taken.actor, taken.at, "extension approved")


def recompute(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The calendar changed: every open deadline is counted again from its parts."""
    now = utcnow()
    for deadline in deadlines.open_of_case(session=ctx.session, case_no=case.case_no):
        if deadline.mediation_id != ctx.owner:
            continue  # the other workflow of the case recomputes its own
        if deadline.state == DeadlineState.PAUSED:
            continue  # counted again when the clock resumes
        kit.redate(ctx, case, deadline, SYSTEM, "calendar changed", now)


STEPS: dict[str, Step] = {
    "pause": pause,
    "resume": resume,
    "request_extension": request_extension,
    "decide_extension": decide_extension,
    "recompute": recompute,
}
