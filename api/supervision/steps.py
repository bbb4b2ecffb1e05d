"""The escalation of a late deadline (督办), and the supervisor's own actions.

A deadline's workflow timer reaches each rung: T−2 working days a warning (预警), T the
deadline passed (超期, a ``supervise`` task for the city supervisor), T+1 a chase notice
(催办通知书), then a criticism (通报批评) with an accountability record (责任追究). The
supervisor urges (催办), extends (延期) or reassigns (改派). Every rung and action is a
``SupervisionRecord``, which the views of ``api.supervision.service`` read.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from api.casefile.models import Case
from api.clock import steps as clock
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.errors import Conflict, Refused
from api.mediation import steps as mediation
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.supervision.models import SupervisionKind, SupervisionRecord
from api.tasks import forms
from api.tasks.models import Task, TaskKind, TaskStatus
from api.users.models import CITY_UNIT
from workflows.messages import RecordStepInput


def record(
    ctx: StepContext,
    case: Case,
    deadline: Deadline | None,
    kind: SupervisionKind,
    *,
    unit: str | None = None,
    handler: str | None = None,
    by: str = SYSTEM,
    at: datetime | None = None,
) -> None:
    """One supervision record (督办记录) of the case."""
    row = SupervisionRecord(
        case_no=case.case_no,
        deadline_id=deadline.id if deadline else None,
        deadline=deadline.name if deadline else None,
        unit=unit or (deadline.unit if deadline else None) or case.unit or CITY_UNIT,
        kind=kind,
        handler=handler,
        by=by,
    )
    if at is not None:
        row.at = at
    ctx.session.add(row)


def deadline_passed(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """T: overdue (超期). The case is flagged and the city supervisor gets a 督办 task."""
    deadline = kit.deadline_of(ctx, case, input.deadline_id)
    if deadline.state != DeadlineState.PENDING or deadline.met_at is not None:
        return
    if deadline.policy == DeadlinePolicy.EXPIRE:
        # The step ends by law when its time is up (调解期满终止, 申请期限届满).
        if ctx.mediation_id is None:
            raise Conflict(
                "deadline.not_mediation", f"the {deadline.name} deadline belongs to no mediation"
            )
        mediation.expire(ctx, case, deadline)
        return
    deadline.state = DeadlineState.OVERDUE
    deadline.overdue_at = deadline.due_at
    ctx.session.add(deadline)
    holder = kit.holder(ctx, case, deadline)
    unit = holder.unit if holder else (deadline.unit or case.unit)
    handler = holder.assignee if holder else None
    if deadline.policy == DeadlinePolicy.WATCH:
        # Another authority's time (a court's): the unit follows it up; nobody is chased.
        kit.event(
            ctx,
            case,
            SYSTEM,
            "deadline_lapsed",
            deadline_id=deadline.id,
            name=deadline.name,
            state=deadline.state,
            due_at=deadline.due_at.isoformat(),
            unit=unit,
        )
        return
    kit.event(
        ctx,
        case,
        SYSTEM,
        "deadline_overdue",
        deadline_id=deadline.id,
        name=deadline.name,
        state=deadline.state,
        due_at=deadline.due_at.isoformat(),
        unit=unit,
        handler=handler,
    )
    record(
        ctx, case, deadline, SupervisionKind.OVERDUE, unit=unit, handler=handler, at=deadline.due_at
    )
    kit.open_task(
        ctx,
        case,
        TaskKind.SUPERVISE,
        CITY_UNIT,
        bound_to=deadline,
        context={"deadline": deadline.name, "due_at": deadline.due_at.isoformat(), "unit": unit},
    )
    kit.refresh_overdue(ctx, case)


_ESCALATION_EVENTS = {
    "warning": "deadline_warning",  # 预警
    "notice": "chase_notice",  # 催办通知书
    "criticism": "criticised",  # 通报批评
}


def escalate(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """A rung of the escalation: T−2 warning, T+1 notice, then criticism. (Recorded in
    Temporal as the step ``ladder``.)"""
    deadline = kit.deadline_of(ctx, case, input.deadline_id)
    rung = input.rung
    if rung is None or rung in deadline.rungs or deadline.met_at is not None:
        return
    wanted = DeadlineState.PENDING if rung == "warning" else DeadlineState.OVERDUE
    if deadline.state != wanted:
        return  # the deadline moved on (met, extended, paused) while the timer ran
    deadline.rungs = [*deadline.rungs, rung]
    ctx.session.add(deadline)
    holder = kit.holder(ctx, case, deadline)
    unit = holder.unit if holder else (deadline.unit or case.unit or CITY_UNIT)
    handler = (holder.assignee if holder else None) or kit.last_handler(ctx, deadline)
    at = {"warning": deadline.warn_at, "notice": deadline.notice_at}.get(
        rung, deadline.criticise_at
    )
    data: dict[str, Any] = {
        "deadline_id": deadline.id,
        "name": deadline.name,
        "rung": rung,
        "unit": unit,
        "due_at": deadline.due_at.isoformat(),
    }
    if deadline.policy != DeadlinePolicy.SUPERVISE:
        # A time that ends by itself, or another authority's: a reminder, no supervision.
        kit.event(ctx, case, SYSTEM, "deadline_reminder", **data)
        return
    if rung == "warning":
        record(ctx, case, deadline, SupervisionKind.WARNING, unit=unit, handler=handler, at=at)
    elif rung == "notice":
        # Copied to the head of the unit (分局负责人).
        data["copy_to"] = f"{unit}-supervisor" if unit != CITY_UNIT else "supervisor"
        record(ctx, case, deadline, SupervisionKind.NOTICE, unit=unit, handler=handler, at=at)
    else:
        data["handler"] = handler
        record(ctx, case, deadline, SupervisionKind.CRITICISM, unit=unit, at=at)
        record(
            ctx, case, deadline, SupervisionKind.ACCOUNTABILITY, unit=unit, handler=handler, at=at
        )
    kit.event(ctx, case, SYSTEM, _ESCALATION_EVENTS[rung], **data)
    if rung == "criticism":
        # 责任追究: a record of its own in the history, as in the supervision view.
        kit.event(ctx, case, SYSTEM, "accountability", **data)


def supervision_refusal(
    *, session: Session, case: Case, task: Task, body: BaseModel
) -> Refused | None:
    """What a 督办 decision needs of the step it supervises: a deadline to extend; an open
    task to reassign, and, to reassign to another unit, the handling itself."""
    if isinstance(body, forms.Extend) and task.deadline_id is None:
        return Refused("supervision.no_deadline", "this supervision has no deadline to extend")
    if isinstance(body, forms.Reassign):
        holder = kit.holder_of(session, case.case_no, task.deadline_id)
        if holder is None:
            return Refused(
                "supervision.nothing_to_reassign",
                "the supervised step has no open task to reassign",
            )
        if body.handler is None and holder.kind != TaskKind.HANDLE:
            return Refused(
                "supervision.not_handling",
                "only a case in handling can be reassigned to another unit",
            )
    return None


def supervise(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """督办: the supervisor urges, extends, or reassigns the supervised step."""
    taken = kit.take(ctx, case, input, TaskKind.SUPERVISE)
    task, body, actor, at = taken.task, taken.body, taken.actor, taken.at
    deadline = ctx.session.get(Deadline, task.deadline_id) if task.deadline_id else None
    holder = kit.holder(ctx, case, deadline) if deadline else None
    refusal = supervision_refusal(session=ctx.session, case=case, task=task, body=body)
    if refusal is not None:
        raise refusal
    if isinstance(body, forms.Urge):
        unit = holder.unit if holder else case.unit
        kit.event(
            ctx, case, actor, "urged", deadline=deadline.name if deadline else None, unit=unit
        )
        record(
            ctx,
            case,
            deadline,
            SupervisionKind.URGE,
            unit=unit,
            handler=holder.assignee if holder else None,
            by=actor,
            at=at,
        )
    elif isinstance(body, forms.Extend) and deadline is not None:
        pending = clock.pending_extension(ctx.session, deadline) is not None
        refusal = clock.extension_refusal(ctx.rules, case, deadline, body.working_days, pending)
        if refusal is not None:
            raise refusal
        reason = "extended by the supervisor"
        clock.extend(ctx, case, deadline, body.working_days, actor, at, reason)
    elif isinstance(body, forms.Reassign) and holder is not None:
        _reassign(ctx, case, deadline, holder, body, actor)


def _reassign(
    ctx: StepContext,
    case: Case,
    deadline: Deadline | None,
    holder: Task,
    body: forms.Reassign,
    actor: str,
) -> None:
    """改派: to another handler of the unit, or the handling to another unit."""
    if body.handler is not None:
        previous_handler = holder.assignee
        holder.assignee = body.handler
        holder.status = TaskStatus.CLAIMED
        ctx.session.add(holder)
        kit.event(
            ctx,
            case,
            actor,
            "reassigned",
            task_id=holder.id,
            **{"from": previous_handler, "to": body.handler},
        )
        return
    previous = holder.unit
    holder.unit = body.unit or holder.unit
    holder.assignee = None
    holder.status = TaskStatus.OPEN
    ctx.session.add(holder)
    case.unit = holder.unit
    ctx.session.add(case)
    if deadline is not None:
        deadline.unit = holder.unit
        ctx.session.add(deadline)
    if ctx.mediation_id is not None:
        mediation.reassign(ctx, holder.unit)
    kit.event(
        ctx,
        case,
        actor,
        "reassigned",
        task_id=holder.id,
        unit=holder.unit,
        **{"from": previous, "to": holder.unit},
    )


STEPS: dict[str, Step] = {
    "supervise": supervise,
    "deadline_passed": deadline_passed,
    "ladder": escalate,
}
