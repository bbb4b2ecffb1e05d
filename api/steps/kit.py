"""The step kit: what every concept's steps are written with.

A step is one function ``(ctx, case, input) -> None`` that changes the case file in the
transaction the engine (``api.internal.engine``) opened: it records events, moves the
case, opens and finishes tasks, and sets and meets deadlines, with the helpers below. The
engine commits, or, when a step raises ``Refused``, rolls everything back and answers the
workflow with the refusal.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import EllipsisType
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.casefile import history
from api.casefile.lifecycle import CaseKind, IllegalTransition, Status, ensure_transition
from api.casefile.models import Case, Submission, SubmissionState
from api.config import Settings
from api.db import transaction_memo
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.deadlines.reckoning import EscalationPolicy, reckon, set_due
from api.errors import Conflict, Refused
from api.rules.rulesets import Limit, RuleBook
from api.tasks import service as tasks
from api.tasks.kinds import KINDS, WATCHERS, parse
from api.tasks.models import ACTIVE, Task, TaskKind, TaskStatus
from api.workdays import WorkingCalendar, local_date
from workflows.messages import RecordStepInput

SYSTEM = "system"


@dataclass(frozen=True)
class DutyTerms:
    """The terms of the plan's duties, from the configuration (``Settings``)."""

    demonstration_due: tuple[int, int]  # (month, day) a branch names its sites by
    resubmit_working_days: int  # a list sent back is due again after this many
    rectification_working_days: int  # a station below the pass mark is rectified within
    delisting_working_days: int  # a failed sample's lot is taken off sale within
    review_rectification_working_days: int  # a sector review's finding is rectified within
    reviews_file: Path  # the sectors and their review points

    @classmethod
    def of(cls, settings: Settings) -> "DutyTerms":
        return cls(
            settings.demonstration_due_day,
            settings.demonstration_resubmit_working_days,
            settings.station_rectification_working_days,
            settings.monitoring_delisting_working_days,
            settings.review_rectification_working_days,
            settings.reviews_file,
        )


@dataclass
class StepContext:
    """What a step works with: the transaction, the calendar, the rule sets in force and
    the escalation policy, and whose workflow takes the step."""

    session: Session
    calendar: WorkingCalendar
    rules: RuleBook
    escalation: EscalationPolicy
    # The people's mediation committees a referral may name: code → name.
    committees: dict[str, str] = field(default_factory=dict)
    # The mediation whose workflow takes this step (its id); None: the case's own workflow.
    mediation_id: int | None = None
    # The case's workflow runs the mediation ladder (RecordStepInput.mediation_ladder).
    mediation_ladder: bool = False
    # A bulletin's number (文号) when it is published: Settings.bulletin_number_pattern.
    number_pattern: str = ""
    # The terms of a duty (示范点, 整改) when one is opened or sent back.
    duties: DutyTerms | None = None

    @property
    def owner(self) -> int | None:
        """The owner of the tasks and deadlines this step opens (Task.mediation_id)."""
        return self.mediation_id


Step = Callable[[StepContext, Case, RecordStepInput], None]


# --- the record ----------------------------------------------------------------------------


def event(ctx: StepContext, case: Case, actor: str, type_: str, **data: Any) -> None:
    """Appends one event to the case's history."""
    history.append(session=ctx.session, case_no=case.case_no, actor=actor, type=type_, data=data)


def move(ctx: StepContext, case: Case, target: Status, actor: str) -> None:
    """Moves the case to ``target``, as its lifecycle allows (``Conflict`` otherwise)."""
    previous = case.status
    try:
        case.status = ensure_transition(Status(case.status), target, CaseKind(case.kind))
    except IllegalTransition as error:
        # A decision the case's lifecycle does not allow (a report is not "rejected"): the
        # person who sent it is answered 409, and nothing is written.
        raise Refused("case.illegal_move", str(error)) from error
    ctx.session.add(case)
    event(ctx, case, actor, "status_changed", **{"from": previous, "to": target})


def close(ctx: StepContext, case: Case, target: Status, actor: str, at: datetime) -> None:
    """Ends the case: its open tasks are cancelled and its duties done with."""
    cancel_tasks(ctx, case, active_tasks(ctx.session, case.case_no))
    end_deadlines(
        ctx,
        case,
        ctx.session.exec(
            select(Deadline).where(Deadline.case_no == case.case_no, col(Deadline.met_at).is_(None))
        ).all(),
        at,
    )
    case.closed_at = at
    move(ctx, case, target, actor)
    refresh_overdue(ctx, case, ended_only=True)


def cancel_tasks(ctx: StepContext, case: Case, open_tasks: Iterable[Task]) -> None:
    """Cancels the tasks, each on record."""
    for task in open_tasks:
        tasks.cancel(task=task)
        ctx.session.add(task)
        event(ctx, case, SYSTEM, "task_cancelled", task_id=task.id, kind=task.kind)


def end_deadlines(
    ctx: StepContext, case: Case, deadlines: Iterable[Deadline], at: datetime
) -> None:
    """The duty ended (the case or its mediation did): a deadline already missed stays on
    record as such."""
    for deadline in deadlines:
        deadline.met_at = at
        if deadline.state in (DeadlineState.PENDING, DeadlineState.PAUSED):
            deadline.state = DeadlineState.MET
        ctx.session.add(deadline)
        event(
            ctx,
            case,
            SYSTEM,
            "deadline_ended",
            deadline_id=deadline.id,
            name=deadline.name,
            state=deadline.state,
        )


# --- the person's decision -----------------------------------------------------------------

_FACT_KEYS = (
    "decision",
    "unit",
    "handler",
    "ground",
    "to",
    "outcome",
    "amount_recovered",
    "reached",
    "satisfaction",
    "action",
    "working_days",
    "approve",
)


def facts(body: dict[str, Any]) -> dict[str, Any]:
    """The structured facts of a body; its free text is on the task's result."""
    return {k: body[k] for k in _FACT_KEYS if k in body}


def submission_of(ctx: StepContext, case: Case, input: RecordStepInput) -> Submission:
    """The person's decision this step applies; it is applied from now on (this step's
    transaction), which is what a sender whose answer was lost finds when it asks again."""
    submission = ctx.session.get(Submission, input.submission_id) if input.submission_id else None
    if submission is None or submission.case_no != case.case_no:
        raise Conflict(
            "submission.not_found", f"submission {input.submission_id} not found for {case.case_no}"
        )
    submission.state = SubmissionState.APPLIED
    ctx.session.add(submission)
    return submission


@dataclass(frozen=True)
class Taken:
    """A task being completed: the task, the person's submission and its parsed body."""

    task: Task
    submission: Submission
    body: BaseModel

    @property
    def actor(self) -> str:
        return self.submission.actor

    @property
    def at(self) -> datetime:
        return self.submission.created_at


def take(ctx: StepContext, case: Case, input: RecordStepInput, kind: TaskKind | None) -> Taken:
    """Completes the task the input names (of ``kind``; any kind for None) with the
    person's submission."""
    task = ctx.session.get(Task, input.task_id) if input.task_id else None
    if task is None or task.case_no != case.case_no or kind not in (None, task.kind):
        what = f"a {kind} task" if kind else "a task"
        raise Conflict("task.not_current", f"task {input.task_id} is not {what} of {case.case_no}")
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise Conflict(f"task.{task.status}", f"task {task.id} is already {task.status}")
    submission = submission_of(ctx, case, input)
    body = parse(TaskKind(task.kind), submission.body)
    tasks.finish(task=task, by=submission.actor, result=submission.body, at=submission.created_at)
    ctx.session.add(task)
    event(
        ctx,
        case,
        submission.actor,
        "task_completed",
        task_id=task.id,
        kind=task.kind,
        **facts(submission.body),
    )
    return Taken(task, submission, body)


# --- tasks ---------------------------------------------------------------------------------


def active_tasks(session: Session, case_no: str) -> list[Task]:
    """The case's open and claimed tasks, oldest first. A step, which holds the case's lock,
    reads them once and then keeps them: a task it opens joins them (``open_task``), one it
    finishes or cancels leaves them by its status."""
    if not history.locked(session, case_no):
        return tasks.active(session=session, case_no=case_no)
    kept = transaction_memo(session, "active_tasks")
    if case_no not in kept:
        kept[case_no] = tasks.active(session=session, case_no=case_no)
    return [t for t in kept[case_no] if t.status in ACTIVE]


def open_task(
    ctx: StepContext,
    case: Case,
    kind: TaskKind,
    unit: str,
    *,
    deadline: Deadline | None = None,
    bound_to: Deadline | None = None,
    context: dict[str, Any] | None = None,
    owner: int | None | EllipsisType = ...,
) -> Task:
    """Opens a task in the inbox for the role its kind is for, and records it. ``deadline``
    bounds it; a supervision task is ``bound_to`` the deadline it watches without being
    bounded by it. ``owner`` is the mediation whose workflow completes it (default: this
    step's)."""
    task = tasks.open_task(
        session=ctx.session,
        case_no=case.case_no,
        kind=kind,
        role=KINDS[kind].role,
        unit=unit,
        deadline=deadline,
        context=context,
        mediation_id=ctx.owner if owner is ... else owner,
    )
    if bound_to is not None:
        task.deadline_id = bound_to.id
        ctx.session.add(task)
    kept = transaction_memo(ctx.session, "active_tasks")
    if case.case_no in kept:
        kept[case.case_no].append(task)
    event(ctx, case, SYSTEM, "task_opened", task_id=task.id, kind=task.kind, unit=task.unit)
    return task


def open_bounded(
    ctx: StepContext,
    case: Case,
    kind: TaskKind,
    limit: str,
    start: datetime,
    unit: str,
    context: dict[str, Any] | None = None,
) -> Task:
    """A task bounded by a deadline of the rule set, both opened now."""
    deadline = open_deadline(ctx, case, limit, start, unit)
    return open_task(ctx, case, kind, unit, deadline=deadline, context=context)


def holder(ctx: StepContext, case: Case, deadline: Deadline) -> Task | None:
    """The task the deadline bounds (the unit's work), if one is open."""
    return holder_of(ctx.session, case.case_no, deadline.id)


def holder_of(session: Session, case_no: str, deadline_id: int | None) -> Task | None:
    if deadline_id is None:
        return None
    for task in active_tasks(session, case_no):
        if task.deadline_id == deadline_id and task.kind not in WATCHERS:
            return task
    return None


def last_handler(ctx: StepContext, deadline: Deadline) -> str | None:
    """Who held the bounded task most recently (the accountability record names them)."""
    return ctx.session.exec(
        select(Task.assignee)
        .where(Task.deadline_id == deadline.id, col(Task.assignee).is_not(None))
        .where(col(Task.kind).not_in(list(WATCHERS)))
        .order_by(col(Task.id).desc())
    ).first()


# --- deadlines -----------------------------------------------------------------------------


def deadline_of(ctx: StepContext, case: Case, deadline_id: int | None) -> Deadline:
    deadline = ctx.session.get(Deadline, deadline_id) if deadline_id else None
    if deadline is None or deadline.case_no != case.case_no:
        raise Conflict(
            "deadline.not_found", f"deadline {deadline_id} is not a deadline of {case.case_no}"
        )
    return deadline


def deadline_facts(deadline: Deadline) -> dict[str, Any]:
    return {
        "name": deadline.name,
        "due_at": deadline.due_at.isoformat(),
        "due_date": deadline.due_date.isoformat(),
        "provisional": deadline.provisional,
    }


def open_deadline(
    ctx: StepContext,
    case: Case,
    name: str,
    start: datetime,
    unit: str | None,
    *,
    fixed_due: date | None = None,
    policy: DeadlinePolicy = DeadlinePolicy.SUPERVISE,
    owner: int | None | EllipsisType = ...,
    limit: Limit | None = None,
) -> Deadline:
    """A time limit of the case's rule set, counted from ``start`` (that day not counted).

    ``fixed_due`` is the last day a sender of a hand-down or transfer (or a court) set: it
    is kept. ``owner`` is the mediation whose workflow times it (default: this step's).
    ``limit`` is a limit the service's configuration sets (a duty's), not the rule set's.
    """
    ruleset = ctx.rules.by_code(case.rule_set)
    # A last day set by someone (fixed_due) needs no figure of the rule set.
    if limit is None:
        limit = ruleset.limits.get(name) if fixed_due is not None else ruleset.limit(name)
    deadline = Deadline(
        case_no=case.case_no,
        name=name,
        started_on=local_date(start),
        working_days=limit.working_days if limit else None,
        calendar_days=limit.calendar_days if limit else None,
        due_date=local_date(start),
        due_at=start,
        rule_set=ruleset.code,
        unit=unit,
        fixed=fixed_due is not None,
        policy=policy,
        mediation_id=ctx.owner if owner is ... else owner,
    )
    if fixed_due is not None:
        set_due(ctx.calendar, ctx.escalation, deadline, fixed_due, False)
    else:
        set_due(ctx.calendar, ctx.escalation, deadline, *reckon(ctx.calendar, deadline))
    ctx.session.add(deadline)
    ctx.session.flush()
    event(
        ctx,
        case,
        SYSTEM,
        "deadline_set",
        deadline_id=deadline.id,
        **deadline_facts(deadline),
        state=deadline.state,
        working_days=limit.working_days if limit else None,
        calendar_days=limit.calendar_days if limit else None,
        rule_set=ruleset.code,
        fixed=deadline.fixed,
        policy=deadline.policy,
    )
    return deadline


def redate(
    ctx: StepContext, case: Case, deadline: Deadline, actor: str, reason: str, at: datetime
) -> None:
    """Recomputes the last day from the deadline's parts; records old → new if it moved."""
    old = deadline_facts(deadline)
    if deadline.fixed:
        due, provisional = deadline.due_date, deadline.provisional
    else:
        due, provisional = reckon(ctx.calendar, deadline)
    old_due_at = deadline.due_at
    set_due(ctx.calendar, ctx.escalation, deadline, due, provisional)
    if deadline.due_at > at:
        if deadline.state == DeadlineState.OVERDUE:
            deadline.state = DeadlineState.PENDING
            deadline.overdue_at = None
        if deadline.due_at > old_due_at:
            deadline.rungs = []  # a later last day gets its own escalation
    ctx.session.add(deadline)
    for task in active_tasks(ctx.session, case.case_no):
        if task.deadline_id == deadline.id and task.kind != TaskKind.SUPERVISE:
            task.due_at = deadline.due_at
            ctx.session.add(task)
    new = deadline_facts(deadline)
    if new != old:
        event(
            ctx,
            case,
            actor,
            "deadline_changed",
            deadline_id=deadline.id,
            reason=reason,
            old=old,
            new=new,
            state=deadline.state,
            rungs=list(deadline.rungs),
        )
    refresh_overdue(ctx, case)


def meet(ctx: StepContext, case: Case, deadline_id: int | None, at: datetime) -> None:
    """The bounded step is done: the deadline is met (or was met late)."""
    if deadline_id is None:
        return
    deadline = ctx.session.get(Deadline, deadline_id)
    if deadline is None or deadline.met_at is not None:
        return
    open_tasks = active_tasks(ctx.session, case.case_no)
    if any(t.deadline_id == deadline_id and t.kind not in WATCHERS for t in open_tasks):
        return  # another attempt under the same deadline is still open
    deadline.met_at = at
    if deadline.state in (DeadlineState.PENDING, DeadlineState.PAUSED):
        deadline.state = DeadlineState.MET
    ctx.session.add(deadline)
    event(
        ctx,
        case,
        SYSTEM,
        "deadline_met",
        deadline_id=deadline.id,
        name=deadline.name,
        late=deadline.state == DeadlineState.OVERDUE,
        state=deadline.state,
    )
    # Nobody need watch a met deadline any more (its 督办 task).
    cancel_tasks(
        ctx, case, [t for t in open_tasks if t.deadline_id == deadline_id and t.kind in WATCHERS]
    )
    refresh_overdue(ctx, case, ended_only=True)


def refresh_overdue(ctx: StepContext, case: Case, *, ended_only: bool = False) -> None:
    """The case is overdue while one of the bureau's own deadlines is. ``ended_only``: the
    change only met or ended deadlines, which cannot make overdue a case that was not (one
    that was is looked at again: it may be no longer)."""
    if ended_only and not case.overdue:
        return
    ctx.session.flush()
    # Another authority's lapsed time (a court's) does not make the bureau's case late.
    still = ctx.session.exec(
        select(Deadline.id).where(
            Deadline.case_no == case.case_no,
            Deadline.state == DeadlineState.OVERDUE,
            col(Deadline.met_at).is_(None),
            Deadline.policy != DeadlinePolicy.WATCH,
        )
    ).first()
    case.overdue = still is not None
    ctx.session.add(case)
