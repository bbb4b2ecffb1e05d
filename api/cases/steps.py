"""The steps of a case, applied for the workflow's ``record_step`` activity.

Each step is one transaction: it records the decision, closes and opens the tasks, sets
the deadlines, appends the history, and stores its result under the workflow's key, so
the same key applied again returns the first result and changes nothing.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import HTTPException
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.calendar.workdays import WorkingCalendar, deadline_instant, local_date
from api.cases import history
from api.cases.lifecycle import Status, ensure_transition
from api.cases.models import Case, Deadline, DeadlineState, StepRecord, Submission
from api.rules.rulesets import RuleBook
from api.tasks import forms
from api.tasks import service as tasks
from api.tasks.models import Task, TaskKind, TaskStatus
from api.users.models import CITY_UNIT, Role
from workflows.messages import DeadlineRef, RecordStepInput, StepResult, TaskRef

SYSTEM = "system"


class StepContext:
    def __init__(self, *, session: Session, calendar: WorkingCalendar, rules: RuleBook) -> None:
        self.session = session
        self.calendar = calendar
        self.rules = rules


def apply(*, ctx: StepContext, input: RecordStepInput) -> StepResult:
    session = ctx.session
    done = _recorded(session, input)
    if done is not None:
        return done
    case = session.exec(select(Case).where(Case.case_no == input.case_no)).first()
    if case is None:
        raise HTTPException(404, f"case {input.case_no} not found")
    STEPS[input.step](ctx, case, input)
    result = snapshot(session=session, case=case)
    session.add(
        StepRecord(case_no=case.case_no, key=input.key, result=result.model_dump(mode="json"))
    )
    try:
        session.commit()
    except IntegrityError:
        # The same key applied concurrently (an activity retried while its first attempt
        # was still running): the first one won, and its result is the answer.
        session.rollback()
        done = _recorded(session, input)
        if done is None:
            raise
        return done
    return result


def snapshot(*, session: Session, case: Case) -> StepResult:
    open_tasks = tasks.active(session=session, case_no=case.case_no)
    deadlines = session.exec(
        select(Deadline)
        .where(Deadline.case_no == case.case_no, col(Deadline.met_at).is_(None))
        .where(col(Deadline.state).in_([DeadlineState.PENDING, DeadlineState.OVERDUE]))
        .order_by(col(Deadline.id))
    ).all()
    return StepResult(
        status=case.status,
        unit=case.unit,
        open_tasks=[TaskRef(id=t.id or 0, kind=t.kind) for t in open_tasks],
        deadlines=[
            DeadlineRef(id=d.id or 0, name=d.name, due_at=d.due_at, state=d.state)
            for d in deadlines
        ],
    )


def _recorded(session: Session, input: RecordStepInput) -> StepResult | None:
    record = session.exec(
        select(StepRecord).where(StepRecord.case_no == input.case_no, StepRecord.key == input.key)
    ).first()
    return StepResult.model_validate(record.result) if record else None


# --- helpers -----------------------------------------------------------------------------


def _event(ctx: StepContext, case: Case, actor: str, type_: str, **data: Any) -> None:
    history.append(session=ctx.session, case_no=case.case_no, actor=actor, type=type_, data=data)


def _move(ctx: StepContext, case: Case, target: Status, actor: str) -> None:
    previous = case.status
    case.status = ensure_transition(Status(case.status), target)
    ctx.session.add(case)
    _event(ctx, case, actor, "status_changed", **{"from": previous, "to": target})


def open_deadline(
    ctx: StepContext, case: Case, name: str, start: datetime, unit: str | None
) -> Deadline:
    """A time limit of the case's rule set, counted from ``start`` (that day not counted)."""
    ruleset = ctx.rules.by_code(case.rule_set)
    limit = ruleset.limit(name)
    started_on = local_date(start)
    if limit.working_days is not None:
        counted = ctx.calendar.add_working_days(started_on, limit.working_days)
        due_date, provisional = counted.end, counted.provisional
    elif limit.calendar_days is not None:
        due_date, provisional = started_on + timedelta(days=limit.calendar_days), False
    else:
        raise ValueError(f"limit {name} of {ruleset.code} has no length")
    deadline = Deadline(
        case_no=case.case_no,
        name=name,
        started_on=started_on,
        working_days=limit.working_days,
        calendar_days=limit.calendar_days,
        due_date=due_date,
        due_at=deadline_instant(due_date),
        provisional=provisional,
        rule_set=ruleset.code,
        unit=unit,
    )
    ctx.session.add(deadline)
    ctx.session.flush()
    _event(
        ctx,
        case,
        SYSTEM,
        "deadline_set",
        name=name,
        due_at=deadline.due_at.isoformat(),
        due_date=due_date.isoformat(),
        provisional=provisional,
        working_days=limit.working_days,
        calendar_days=limit.calendar_days,
        rule_set=ruleset.code,
    )
    return deadline


def _meet(ctx: StepContext, case: Case, deadline_id: int | None, at: datetime) -> None:
    """The bounded step is done: the deadline is met (or was met late)."""
    if deadline_id is None:
        return
    deadline = ctx.session.get(Deadline, deadline_id)
    if deadline is None or deadline.met_at is not None:
        return
    if any(
        t.deadline_id == deadline_id
        for t in tasks.active(session=ctx.session, case_no=case.case_no)
        if t.kind != TaskKind.SUPERVISE
    ):
        return  # another attempt under the same deadline is still open
    deadline.met_at = at
    if deadline.state == DeadlineState.PENDING:
        deadline.state = DeadlineState.MET
    ctx.session.add(deadline)
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        if task.kind == TaskKind.SUPERVISE and task.deadline_id == deadline_id:
            tasks.cancel(task=task)
            ctx.session.add(task)
    _event(
        ctx,
        case,
        SYSTEM,
        "deadline_met",
        name=deadline.name,
        late=deadline.state == DeadlineState.OVERDUE,
    )
    _refresh_overdue(ctx, case)


def _refresh_overdue(ctx: StepContext, case: Case) -> None:
    ctx.session.flush()
    still = ctx.session.exec(
        select(Deadline.id).where(
            Deadline.case_no == case.case_no,
            Deadline.state == DeadlineState.OVERDUE,
            col(Deadline.met_at).is_(None),
        )
    ).first()
    case.overdue = still is not None
    ctx.session.add(case)


def _take(
    ctx: StepContext, case: Case, input: RecordStepInput, kind: TaskKind
) -> tuple[Task, Submission, Any]:
    """The task being completed, the person's submission and its parsed body."""
    task = ctx.session.get(Task, input.task_id) if input.task_id else None
    if task is None or task.case_no != case.case_no or task.kind != kind:
        raise HTTPException(409, f"task {input.task_id} is not a {kind} task of {case.case_no}")
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise HTTPException(409, f"task {task.id} is already {task.status}")
    submission = _submission(ctx, case, input)
    body = forms.parse(kind, submission.body)
    tasks.finish(task=task, by=submission.actor, result=submission.body, at=submission.created_at)
    ctx.session.add(task)
    _event(
        ctx,
        case,
        submission.actor,
        "task_completed",
        task_id=task.id,
        kind=kind,
        **_facts(submission.body),
    )
    return task, submission, body


def _submission(ctx: StepContext, case: Case, input: RecordStepInput) -> Submission:
    submission = ctx.session.get(Submission, input.submission_id) if input.submission_id else None
    if submission is None or submission.case_no != case.case_no:
        raise HTTPException(409, f"submission {input.submission_id} not found for {case.case_no}")
    return submission


_FACT_KEYS = (
    "decision",
    "unit",
    "ground",
    "to",
    "outcome",
    "amount_recovered",
    "reached",
    "satisfaction",
    "action",
    "working_days",
)


def _facts(body: dict[str, Any]) -> dict[str, Any]:
    """The structured facts of a body; its free text is on the task's result."""
    return {k: body[k] for k in _FACT_KEYS if k in body}


def _close(ctx: StepContext, case: Case, target: Status, actor: str, at: datetime) -> None:
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        tasks.cancel(task=task)
        ctx.session.add(task)
        _event(ctx, case, SYSTEM, "task_cancelled", task_id=task.id, kind=task.kind)
    for deadline in ctx.session.exec(
        select(Deadline).where(Deadline.case_no == case.case_no, col(Deadline.met_at).is_(None))
    ).all():
        # The duty ended with the case; a deadline already missed stays on record as such.
        deadline.met_at = at
        if deadline.state == DeadlineState.PENDING:
            deadline.state = DeadlineState.MET
        ctx.session.add(deadline)
    case.closed_at = at
    _move(ctx, case, target, actor)
    _refresh_overdue(ctx, case)


# --- the steps ---------------------------------------------------------------------------


def _open_triage(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    _move(ctx, case, Status.TRIAGE, SYSTEM)
    deadline = open_deadline(ctx, case, "triage", case.received_at, CITY_UNIT)
    task = tasks.open_task(
        session=ctx.session,
        case_no=case.case_no,
        kind=TaskKind.TRIAGE,
        role=Role.OPERATOR,
        unit=CITY_UNIT,
        deadline=deadline,
        context={"suggested_unit": case.suggested_unit},
    )
    _event(ctx, case, SYSTEM, "task_opened", task_id=task.id, kind=task.kind, unit=task.unit)


def _triage(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.TRIAGE)
    at = submission.created_at
    _meet(ctx, case, task.deadline_id, at)
    if isinstance(body, forms.AcceptTriage):
        case.unit = body.unit
        _move(ctx, case, Status.HANDLING, submission.actor)
        _event(ctx, case, submission.actor, "accepted", unit=body.unit)
        deadline = open_deadline(ctx, case, "handle", at, body.unit)
        handle = tasks.open_task(
            session=ctx.session,
            case_no=case.case_no,
            kind=TaskKind.HANDLE,
            role=Role.HANDLER,
            unit=body.unit,
            deadline=deadline,
        )
        _event(
            ctx, case, SYSTEM, "task_opened", task_id=handle.id, kind=handle.kind, unit=handle.unit
        )
    elif isinstance(body, forms.RejectTriage):
        ground = ctx.rules.by_code(case.rule_set).ground("reject", body.ground)
        case.outcome = "rejected"
        _event(
            ctx,
            case,
            submission.actor,
            "rejected",
            ground=body.ground,
            article=ground.article if ground else None,
        )
        _close(ctx, case, Status.REJECTED, submission.actor, at)
    else:
        case.outcome = "referred"
        _event(ctx, case, submission.actor, "referred", to=body.to)
        _close(ctx, case, Status.REFERRED, submission.actor, at)


def _handle(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.HANDLE)
    at = submission.created_at
    _meet(ctx, case, task.deadline_id, at)
    case.outcome = body.outcome
    if isinstance(body, forms.Termination):
        _event(ctx, case, submission.actor, "mediation_terminated", ground=body.ground)
    else:
        _event(
            ctx,
            case,
            submission.actor,
            "mediation_agreed",
            amount_recovered=str(body.amount_recovered),
        )
    _move(ctx, case, Status.REPLIED, submission.actor)
    _event(ctx, case, submission.actor, "replied", unit=task.unit)
    deadline = open_deadline(ctx, case, "callback", at, CITY_UNIT)
    callback = tasks.open_task(
        session=ctx.session,
        case_no=case.case_no,
        kind=TaskKind.CALLBACK,
        role=Role.OPERATOR,
        unit=CITY_UNIT,
        deadline=deadline,
        context={"attempt": 1},
    )
    _event(
        ctx,
        case,
        SYSTEM,
        "task_opened",
        task_id=callback.id,
        kind=callback.kind,
        unit=callback.unit,
    )


def _callback(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.CALLBACK)
    at = submission.created_at
    attempt = int(task.context.get("attempt", 1))
    if body.reached:
        case.satisfaction = body.satisfaction
        _event(
            ctx,
            case,
            submission.actor,
            "callback_reached",
            attempt=attempt,
            satisfaction=body.satisfaction,
        )
        _meet(ctx, case, task.deadline_id, at)
        _close(ctx, case, Status.CLOSED, submission.actor, at)
        return
    limit = ctx.rules.by_code(case.rule_set).limit("callback_attempts").count or 1
    _event(ctx, case, submission.actor, "callback_unreached", attempt=attempt, of=limit)
    if attempt >= limit:
        case.satisfaction = "unreachable"
        _meet(ctx, case, task.deadline_id, at)
        _close(ctx, case, Status.CLOSED, submission.actor, at)
        return
    if case.status != Status.CALLBACK:
        _move(ctx, case, Status.CALLBACK, submission.actor)
    deadline = ctx.session.get(Deadline, task.deadline_id) if task.deadline_id else None
    again = tasks.open_task(
        session=ctx.session,
        case_no=case.case_no,
        kind=TaskKind.CALLBACK,
        role=Role.OPERATOR,
        unit=CITY_UNIT,
        deadline=deadline,
        context={"attempt": attempt + 1},
    )
    _event(
        ctx,
        case,
        SYSTEM,
        "task_opened",
        task_id=again.id,
        kind=again.kind,
        unit=again.unit,
        attempt=attempt + 1,
    )


def _deadline_passed(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    deadline = ctx.session.get(Deadline, input.deadline_id) if input.deadline_id else None
    if deadline is None or deadline.case_no != case.case_no:
        raise HTTPException(
            409, f"deadline {input.deadline_id} is not a deadline of {case.case_no}"
        )
    if deadline.state != DeadlineState.PENDING or deadline.met_at is not None:
        return
    deadline.state = DeadlineState.OVERDUE
    deadline.overdue_at = deadline.due_at
    ctx.session.add(deadline)
    bounded = [
        t
        for t in tasks.active(session=ctx.session, case_no=case.case_no)
        if t.deadline_id == deadline.id
    ]
    _event(
        ctx,
        case,
        SYSTEM,
        "deadline_overdue",
        name=deadline.name,
        due_at=deadline.due_at.isoformat(),
        unit=bounded[0].unit if bounded else case.unit,
        handler=bounded[0].assignee if bounded else None,
    )
    supervise = tasks.open_task(
        session=ctx.session,
        case_no=case.case_no,
        kind=TaskKind.SUPERVISE,
        role=Role.SUPERVISOR,
        unit=CITY_UNIT,
        deadline=None,
        context={
            "deadline": deadline.name,
            "due_at": deadline.due_at.isoformat(),
            "unit": bounded[0].unit if bounded else case.unit,
        },
    )
    supervise.deadline_id = deadline.id
    ctx.session.add(supervise)
    _event(
        ctx,
        case,
        SYSTEM,
        "task_opened",
        task_id=supervise.id,
        kind=supervise.kind,
        unit=supervise.unit,
    )
    _refresh_overdue(ctx, case)


def _supervise(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.SUPERVISE)
    deadline = ctx.session.get(Deadline, task.deadline_id) if task.deadline_id else None
    bounded = [
        t
        for t in tasks.active(session=ctx.session, case_no=case.case_no)
        if deadline is not None and t.deadline_id == deadline.id and t.kind != TaskKind.SUPERVISE
    ]
    actor = submission.actor
    if isinstance(body, forms.Urge):
        _event(
            ctx,
            case,
            actor,
            "urged",
            deadline=deadline.name if deadline else None,
            unit=bounded[0].unit if bounded else case.unit,
        )
    elif isinstance(body, forms.Extend):
        if deadline is None:
            raise HTTPException(409, "this supervision has no deadline to extend")
        counted = ctx.calendar.add_working_days(deadline.due_date, body.working_days)
        old = deadline.due_at
        deadline.due_date = counted.end
        deadline.due_at = deadline_instant(counted.end)
        deadline.provisional = deadline.provisional or counted.provisional
        if deadline.due_at > submission.created_at:
            deadline.state = DeadlineState.PENDING
            deadline.overdue_at = None
        ctx.session.add(deadline)
        for t in bounded:
            t.due_at = deadline.due_at
            ctx.session.add(t)
        _event(
            ctx,
            case,
            actor,
            "deadline_extended",
            name=deadline.name,
            old_due_at=old.isoformat(),
            new_due_at=deadline.due_at.isoformat(),
            working_days=body.working_days,
        )
        _refresh_overdue(ctx, case)
    else:
        if not bounded or bounded[0].kind != TaskKind.HANDLE:
            raise HTTPException(409, "only a case in handling can be reassigned to another unit")
        for t in bounded:
            previous = t.unit
            t.unit = body.unit
            t.assignee = None
            if t.status == TaskStatus.CLAIMED:
                t.status = TaskStatus.OPEN
            ctx.session.add(t)
        case.unit = body.unit
        ctx.session.add(case)
        if deadline is not None:
            deadline.unit = body.unit
            ctx.session.add(deadline)
        _event(ctx, case, actor, "reassigned", **{"from": previous, "to": body.unit})


def _withdraw(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    submission = _submission(ctx, case, input)
    case.outcome = "withdrawn"
    _event(ctx, case, submission.actor, "withdrawn")
    _close(ctx, case, Status.WITHDRAWN, submission.actor, submission.created_at)


STEPS: dict[str, Callable[[StepContext, Case, RecordStepInput], None]] = {
    "open_triage": _open_triage,
    "triage": _triage,
    "handle": _handle,
    "callback": _callback,
    "supervise": _supervise,
    "withdraw": _withdraw,
    "deadline_passed": _deadline_passed,
}
