"""The steps of a case, applied for the workflow's ``record_step`` activity.

Each step is one transaction: it records the decision, closes and opens the tasks, sets
the deadlines, appends the history, and stores its result under the workflow's key, so
the same key applied again returns the first result and changes nothing.
"""

from collections.abc import Callable
from datetime import datetime
from types import EllipsisType
from typing import Any

from fastapi import HTTPException
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.calendar.workdays import WorkingCalendar, local_date
from api.cases import history
from api.cases.deadlines import LadderPolicy, paused_working_days, reckon, set_due
from api.cases.lifecycle import CaseKind, Status, ensure_transition
from api.cases.models import (
    Case,
    Deadline,
    DeadlinePause,
    DeadlinePolicy,
    DeadlineState,
    StepRecord,
    Submission,
    SubmissionState,
)
from api.db import utcnow
from api.mediation import steps as mediation
from api.mediation.models import Mediation
from api.rules.rulesets import RuleBook
from api.supervision.models import SupervisionKind, SupervisionRecord
from api.tasks import forms
from api.tasks import service as tasks
from api.tasks.models import Task, TaskKind, TaskStatus
from api.units import service as units
from api.units.models import UnitKind
from api.users.models import CITY_UNIT, Role
from workflows.messages import (
    DeadlineRef,
    MediationRef,
    RecordStepInput,
    StepRefusal,
    StepResult,
    TaskRef,
)

SYSTEM = "system"
OPEN_STATES = (DeadlineState.PENDING, DeadlineState.OVERDUE, DeadlineState.PAUSED)


class StepContext:
    def __init__(
        self,
        *,
        session: Session,
        calendar: WorkingCalendar,
        rules: RuleBook,
        ladder: LadderPolicy,
        committees: dict[str, str] | None = None,
    ) -> None:
        self.session = session
        # The people's mediation committees a referral may name: code → name.
        self.committees = committees or {}
        self.calendar = calendar
        self.rules = rules
        self.ladder = ladder
        # The mediation whose workflow takes this step; None: the case's own workflow.
        self.mediation: Mediation | None = None
        # The case's workflow runs the mediation ladder (RecordStepInput.mediation_ladder).
        self.mediation_ladder = False

    @property
    def owner(self) -> int | None:
        """The owner of the tasks and deadlines this step opens (Task.mediation_id)."""
        return self.mediation.id if self.mediation else None


class StepRefused(Exception):
    """A rule the step enforces where it is applied (an extension granted once only, one
    open request at a time): nothing of the step is written, and the person who asked is
    answered 409 with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def apply(*, ctx: StepContext, input: RecordStepInput) -> StepResult:
    session = ctx.session
    case = _lock(session, input.case_no)
    done = _recorded(session, input)
    if done is not None:
        return done
    ctx.mediation_ladder = input.mediation_ladder
    if input.mediation is not None:
        ctx.mediation = mediation.of_case(session=session, case=case, number=input.mediation)
    refused: StepRefused | None = None
    try:
        # A mediation the case ended first (a withdrawal) has nothing left to act on.
        if ctx.mediation is None or not mediation.has_ended(ctx.mediation):
            STEPS[input.step](ctx, case, input)
            session.flush()  # a constraint the step breaks is its refusal, raised here
    except IntegrityError as error:
        refused = _refusal_of(error)
    except StepRefused as error:
        refused = error
    if refused is not None:
        session.rollback()
        case = _lock(session, input.case_no)
        done = _recorded(session, input)
        if done is not None:
            return done
        _settle(session, input, SubmissionState.REFUSED)
    result = snapshot(session=session, case=case, mediation=ctx.mediation)
    if refused is not None:
        result.refused = StepRefusal(code=refused.code, message=refused.message)
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


def _lock(session: Session, case_no: str) -> Case:
    """One step of a case at a time: the case's workflow and its mediation's may both take
    one (a withdrawal while the ladder moves), and a retried activity may overlap its
    first attempt. What a step checks holds until it commits."""
    history.lock_case(session, case_no)
    case = session.exec(select(Case).where(Case.case_no == case_no)).first()
    if case is None:
        raise HTTPException(404, f"case {case_no} not found")
    return case


# The database constraints a step can run into when two requests raced past the checks.
_CONSTRAINT_REFUSALS = {
    "ux_task_open_extension_request": StepRefused(
        "extension.pending", "an extension of this deadline is already waiting for approval"
    ),
}


def _refusal_of(error: IntegrityError) -> StepRefused:
    text_ = str(error.orig)
    for name, refusal in _CONSTRAINT_REFUSALS.items():
        if name in text_ or _constraint_columns(name) in text_:
            return refusal
    raise error


def _constraint_columns(name: str) -> str:
    # SQLite names the columns of a failed unique index, not the index.
    return {"ux_task_open_extension_request": "task.deadline_id"}.get(name, name)


def _settle(session: Session, input: RecordStepInput, state: SubmissionState) -> None:
    if input.submission_id is None:
        return
    submission = session.get(Submission, input.submission_id)
    if submission is not None and submission.state != state:
        submission.state = state
        session.add(submission)


def snapshot(*, session: Session, case: Case, mediation: Mediation | None = None) -> StepResult:
    """What a workflow needs after a step: the tasks and deadlines it owns (those of
    ``mediation`` for a mediation's workflow), and the mediation it runs or must start."""
    owner = mediation.id if mediation else None
    open_tasks = [
        t for t in tasks.active(session=session, case_no=case.case_no) if t.mediation_id == owner
    ]
    latest = mediation or mediation_of(session=session, case=case)
    return StepResult(
        status=case.status,
        unit=case.unit,
        open_tasks=[TaskRef(id=t.id or 0, kind=t.kind) for t in open_tasks],
        mediation=(
            MediationRef(
                number=latest.number,
                state=latest.state,
                stage=latest.stage,
                outcome=latest.outcome,
            )
            if latest is not None
            else None
        ),
        deadlines=[
            DeadlineRef(
                id=d.id or 0,
                name=d.name,
                due_at=d.due_at,
                state=d.state,
                warn_at=d.warn_at,
                notice_at=d.notice_at,
                criticise_at=d.criticise_at,
                rungs=list(d.rungs),
            )
            for d in open_deadlines(session=session, case_no=case.case_no)
            if d.mediation_id == owner
        ],
    )


def mediation_of(*, session: Session, case: Case) -> Mediation | None:
    """The case's latest run of the mediation ladder, if it has one."""
    return session.exec(
        select(Mediation)
        .where(Mediation.case_no == case.case_no)
        .order_by(col(Mediation.number).desc())
    ).first()


def open_deadlines(*, session: Session, case_no: str) -> list[Deadline]:
    return list(
        session.exec(
            select(Deadline)
            .where(Deadline.case_no == case_no, col(Deadline.met_at).is_(None))
            .where(col(Deadline.state).in_(OPEN_STATES))
            .order_by(col(Deadline.id))
        ).all()
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
    case.status = ensure_transition(Status(case.status), target, CaseKind(case.kind))
    ctx.session.add(case)
    _event(ctx, case, actor, "status_changed", **{"from": previous, "to": target})


def _deadline_facts(deadline: Deadline) -> dict[str, Any]:
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
    fixed_due: Any = None,
    policy: DeadlinePolicy = DeadlinePolicy.SUPERVISE,
    owner: int | None | EllipsisType = ...,
) -> Deadline:
    """A time limit of the case's rule set, counted from ``start`` (that day not counted).

    ``fixed_due`` is the last day a sender of a hand-down or transfer (or a court) set: it
    is kept. ``owner`` is the mediation whose workflow times it (default: this step's).
    """
    ruleset = ctx.rules.by_code(case.rule_set)
    limit = ruleset.limit(name)
    deadline = Deadline(
        case_no=case.case_no,
        name=name,
        started_on=local_date(start),
        working_days=limit.working_days,
        calendar_days=limit.calendar_days,
        due_date=local_date(start),
        due_at=start,
        rule_set=ruleset.code,
        unit=unit,
        fixed=fixed_due is not None,
        policy=policy,
        mediation_id=ctx.owner if owner is ... else owner,
    )
    if fixed_due is not None:
        set_due(ctx.calendar, ctx.ladder, deadline, fixed_due, False)
    else:
        set_due(ctx.calendar, ctx.ladder, deadline, *reckon(ctx.calendar, deadline))
    ctx.session.add(deadline)
    ctx.session.flush()
    _event(
        ctx,
        case,
        SYSTEM,
        "deadline_set",
        **_deadline_facts(deadline),
        working_days=limit.working_days,
        calendar_days=limit.calendar_days,
        rule_set=ruleset.code,
        fixed=deadline.fixed,
        policy=deadline.policy,
    )
    return deadline


def _redate(
    ctx: StepContext, case: Case, deadline: Deadline, actor: str, reason: str, at: datetime
) -> None:
    """Recomputes the last day from the deadline's parts; records old → new if it moved."""
    old = _deadline_facts(deadline)
    if deadline.fixed:
        due, provisional = deadline.due_date, deadline.provisional
    else:
        due, provisional = reckon(ctx.calendar, deadline)
    old_due_at = deadline.due_at
    set_due(ctx.calendar, ctx.ladder, deadline, due, provisional)
    if deadline.due_at > at:
        if deadline.state == DeadlineState.OVERDUE:
            deadline.state = DeadlineState.PENDING
            deadline.overdue_at = None
        if deadline.due_at > old_due_at:
            deadline.rungs = []  # a later last day gets its own ladder
    ctx.session.add(deadline)
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        if task.deadline_id == deadline.id and task.kind != TaskKind.SUPERVISE:
            task.due_at = deadline.due_at
            ctx.session.add(task)
    new = _deadline_facts(deadline)
    if new != old:
        _event(ctx, case, actor, "deadline_changed", reason=reason, old=old, new=new)
    _refresh_overdue(ctx, case)


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
        if t.kind not in (TaskKind.SUPERVISE, TaskKind.APPROVE_EXTENSION)
    ):
        return  # another attempt under the same deadline is still open
    deadline.met_at = at
    if deadline.state in (DeadlineState.PENDING, DeadlineState.PAUSED):
        deadline.state = DeadlineState.MET
    ctx.session.add(deadline)
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        if task.deadline_id == deadline_id and task.kind in (
            TaskKind.SUPERVISE,
            TaskKind.APPROVE_EXTENSION,
        ):
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
    """The person's decision this step applies; it is applied from now on (this step's
    transaction), which is what a sender whose answer was lost finds when it asks again."""
    submission = ctx.session.get(Submission, input.submission_id) if input.submission_id else None
    if submission is None or submission.case_no != case.case_no:
        raise HTTPException(409, f"submission {input.submission_id} not found for {case.case_no}")
    submission.state = SubmissionState.APPLIED
    ctx.session.add(submission)
    return submission


def _deadline_of(ctx: StepContext, case: Case, deadline_id: int | None) -> Deadline:
    deadline = ctx.session.get(Deadline, deadline_id) if deadline_id else None
    if deadline is None or deadline.case_no != case.case_no:
        raise HTTPException(409, f"deadline {deadline_id} is not a deadline of {case.case_no}")
    return deadline


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
        if deadline.state in (DeadlineState.PENDING, DeadlineState.PAUSED):
            deadline.state = DeadlineState.MET
        ctx.session.add(deadline)
    case.closed_at = at
    _move(ctx, case, target, actor)
    _refresh_overdue(ctx, case)


def _holder(ctx: StepContext, case: Case, deadline: Deadline) -> Task | None:
    """The task the deadline bounds (the unit's work), if one is open."""
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        if task.deadline_id == deadline.id and task.kind not in (
            TaskKind.SUPERVISE,
            TaskKind.APPROVE_EXTENSION,
        ):
            return task
    return None


def _last_handler(ctx: StepContext, deadline: Deadline) -> str | None:
    """Who held the bounded task most recently (the accountability record names them)."""
    held = ctx.session.exec(
        select(Task.assignee)
        .where(Task.deadline_id == deadline.id, col(Task.assignee).is_not(None))
        .where(col(Task.kind).not_in([TaskKind.SUPERVISE, TaskKind.APPROVE_EXTENSION]))
        .order_by(col(Task.id).desc())
    ).first()
    return held


def _supervision(
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
    record = SupervisionRecord(
        case_no=case.case_no,
        deadline_id=deadline.id if deadline else None,
        deadline=deadline.name if deadline else None,
        unit=unit or (deadline.unit if deadline else None) or case.unit or CITY_UNIT,
        kind=kind,
        handler=handler,
        by=by,
    )
    if at is not None:
        record.at = at
    ctx.session.add(record)


# --- the steps ---------------------------------------------------------------------------


def _open_triage(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    registrar = units.get(session=ctx.session, code=case.registered_unit)
    at_station = registrar is not None and registrar.kind == UnitKind.STATION
    if ctx.mediation_ladder and case.kind == CaseKind.COMPLAINT and at_station:
        # 和解: a station's complaint is first for the business to settle there.
        _move(ctx, case, Status.RECONCILIATION, SYSTEM)
        mediation.begin(
            ctx,
            case,
            rung=mediation.Rung.RECONCILIATION,
            unit=case.registered_unit,
            at=case.received_at,
            via="registered",
        )
        return
    _move(ctx, case, Status.TRIAGE, SYSTEM)
    _open_triage_task(ctx, case, case.received_at)


def _open_triage_task(ctx: StepContext, case: Case, start: datetime) -> None:
    context = {"suggested_unit": case.suggested_unit}
    _open(ctx, case, TaskKind.TRIAGE, "triage", start, Role.OPERATOR, CITY_UNIT, context)


def _triage(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.TRIAGE)
    at = submission.created_at
    _meet(ctx, case, task.deadline_id, at)
    if case.kind == CaseKind.REPORT and isinstance(body, forms.AcceptTriage):
        case.unit = body.unit
        _move(ctx, case, Status.VERIFICATION, submission.actor)
        _event(ctx, case, submission.actor, "accepted", unit=body.unit)
        # 核查: fifteen working days from receipt (行政处罚程序规定 art. 18).
        _open(ctx, case, TaskKind.VERIFY, "verify", case.received_at, Role.HANDLER, body.unit)
    elif isinstance(body, forms.AcceptTriage):
        case.unit = body.unit
        _move(ctx, case, Status.HANDLING, submission.actor)
        _event(ctx, case, submission.actor, "accepted", unit=body.unit)
        if ctx.mediation_ladder:
            # 行政调解: the dispute goes to the branch's mediation, rung 1 of the ladder.
            mediation.begin(
                ctx,
                case,
                rung=mediation.Rung.ADMINISTRATIVE,
                unit=body.unit,
                at=at,
                via="accepted",
            )
            return
        # A hand-down (交办) or transfer (转办) carries the deadline its sender set.
        deadline = open_deadline(ctx, case, "handle", at, body.unit, fixed_due=case.sender_due_date)
        _task(
            ctx,
            case,
            TaskKind.HANDLE,
            Role.HANDLER,
            body.unit,
            deadline=deadline,
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


def _task(
    ctx: StepContext,
    case: Case,
    kind: TaskKind,
    role: Role,
    unit: str,
    *,
    deadline: Deadline | None = None,
    bound_to: Deadline | None = None,
    context: dict[str, Any] | None = None,
    owner: int | None | EllipsisType = ...,
) -> Task:
    """Opens a task in the inbox and records it. ``deadline`` bounds it; a supervision
    task is ``bound_to`` the deadline it watches without being bounded by it. ``owner``
    is the mediation whose workflow completes it (default: this step's)."""
    task = tasks.open_task(
        session=ctx.session,
        case_no=case.case_no,
        kind=kind,
        role=role,
        unit=unit,
        deadline=deadline,
        context=context,
        mediation_id=ctx.owner if owner is ... else owner,
    )
    if bound_to is not None:
        task.deadline_id = bound_to.id
        ctx.session.add(task)
    _event(ctx, case, SYSTEM, "task_opened", task_id=task.id, kind=task.kind, unit=task.unit)
    return task


def _open(
    ctx: StepContext,
    case: Case,
    kind: TaskKind,
    limit: str,
    start: datetime,
    role: Role,
    unit: str,
    context: dict[str, Any] | None = None,
) -> Task:
    """A task bounded by a deadline of the rule set, both opened now."""
    deadline = open_deadline(ctx, case, limit, start, unit)
    return _task(ctx, case, kind, role, unit, deadline=deadline, context=context)


def _complete_task(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """A report's steps (verification, telling the reporter, investigation), the review of
    an unsatisfied callback, and each rung of a mediation."""
    task = ctx.session.get(Task, input.task_id) if input.task_id else None
    if task is None:
        raise HTTPException(409, f"task {input.task_id} is not a task of {case.case_no}")
    task, submission, body = _take(ctx, case, input, TaskKind(task.kind))
    if ctx.mediation is not None:
        mediation.complete(ctx, case, ctx.mediation, task, submission, body)
        return
    at = submission.created_at
    actor = submission.actor
    unit = task.unit
    _meet(ctx, case, task.deadline_id, at)
    told = not case.anonymous and case.reporter is not None
    if isinstance(body, forms.Verify):
        filed = body.decision == "file"
        _event(ctx, case, actor, "filed" if filed else "not_filed")  # 立案 / 不予立案
        if told:
            _open(
                ctx,
                case,
                TaskKind.NOTIFY_REPORTER,
                "reporter_notice",
                at,
                Role.HANDLER,
                unit,
                {"decision": body.decision},
            )
        if filed:
            _move(ctx, case, Status.INVESTIGATION, actor)
            _open(ctx, case, TaskKind.INVESTIGATE, "investigate", at, Role.HANDLER, unit)
        else:
            case.outcome = "not_filed"
            if told:
                _move(ctx, case, Status.NOT_FILED, actor)
            else:
                _close(ctx, case, Status.CLOSED, actor, at)
    elif isinstance(body, forms.NotifyReporter):
        _event(ctx, case, actor, "reporter_told", channel=body.channel)
        if case.status == Status.NOT_FILED:
            _close(ctx, case, Status.CLOSED, actor, at)
    elif isinstance(body, forms.Review):
        if body.decision == "confirm":
            _event(ctx, case, actor, "handling_confirmed")
            _close(ctx, case, Status.CLOSED, actor, at)
            return
        _event(ctx, case, actor, "sent_back_for_redo", unit=case.unit)
        case.outcome = None
        case.satisfaction = None
        _move(ctx, case, Status.HANDLING, actor)
        if ctx.mediation_ladder:
            mediation.begin(
                ctx,
                case,
                rung=mediation.Rung.ADMINISTRATIVE,
                unit=case.unit or CITY_UNIT,
                at=at,
                via="redo",
            )
            return
        _open(ctx, case, TaskKind.HANDLE, "handle", at, Role.HANDLER, case.unit or CITY_UNIT)
    elif isinstance(body, forms.Investigate):
        case.outcome = body.decision
        _event(ctx, case, actor, "investigation_decided", decision=body.decision)
        _close(ctx, case, Status.CLOSED, actor, at)


def _handle(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.HANDLE)
    at = submission.created_at
    if isinstance(body, forms.Return):
        _meet(ctx, case, task.deadline_id, at)
        return_to_triage(ctx, case, submission.actor, at, task.unit)
        return
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
    reply(ctx, case, submission.actor, at, task.unit)


def return_to_triage(ctx: StepContext, case: Case, actor: str, at: datetime, unit: str) -> None:
    """退回: a wrongly dispatched case goes back to triage; the transfer is recorded."""
    _event(ctx, case, actor, "returned", unit=unit)
    case.unit = None
    _move(ctx, case, Status.TRIAGE, actor)
    _open_triage_task(ctx, case, at)


def reply(ctx: StepContext, case: Case, actor: str, at: datetime, unit: str | None) -> None:
    """答复: the result is told to the complainant; the centre calls back."""
    _move(ctx, case, Status.REPLIED, actor)
    _event(ctx, case, actor, "replied", unit=unit)
    _open(ctx, case, TaskKind.CALLBACK, "callback", at, Role.OPERATOR, CITY_UNIT, {"attempt": 1})


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
        if body.satisfaction == "unsatisfied":
            # 不满意: the supervisor sends it back for redo, or confirms the handling.
            if case.status != Status.CALLBACK:
                _move(ctx, case, Status.CALLBACK, submission.actor)
            _task(
                ctx,
                case,
                TaskKind.REVIEW,
                Role.SUPERVISOR,
                CITY_UNIT,
                context={"satisfaction": body.satisfaction, "unit": case.unit},
            )
            return
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
    _task(
        ctx,
        case,
        TaskKind.CALLBACK,
        Role.OPERATOR,
        CITY_UNIT,
        deadline=deadline,
        context={"attempt": attempt + 1},
    )


def _deadline_passed(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """T: overdue (超期). The case is flagged and the city supervisor gets a 督办 task."""
    deadline = _deadline_of(ctx, case, input.deadline_id)
    if deadline.state != DeadlineState.PENDING or deadline.met_at is not None:
        return
    if deadline.policy == DeadlinePolicy.EXPIRE:
        # The step ends by law when its time is up (调解期满终止, 申请期限届满).
        if ctx.mediation is None:
            raise HTTPException(409, f"the {deadline.name} deadline belongs to no mediation")
        mediation.expire(ctx, case, ctx.mediation, deadline)
        return
    deadline.state = DeadlineState.OVERDUE
    deadline.overdue_at = deadline.due_at
    ctx.session.add(deadline)
    holder = _holder(ctx, case, deadline)
    unit = holder.unit if holder else (deadline.unit or case.unit)
    handler = holder.assignee if holder else None
    if deadline.policy == DeadlinePolicy.WATCH:
        # Another authority's time (a court's): the unit follows it up; nobody is chased.
        _event(
            ctx,
            case,
            SYSTEM,
            "deadline_lapsed",
            name=deadline.name,
            due_at=deadline.due_at.isoformat(),
            unit=unit,
        )
        return
    _event(
        ctx,
        case,
        SYSTEM,
        "deadline_overdue",
        name=deadline.name,
        due_at=deadline.due_at.isoformat(),
        unit=unit,
        handler=handler,
    )
    _supervision(
        ctx, case, deadline, SupervisionKind.OVERDUE, unit=unit, handler=handler, at=deadline.due_at
    )
    _task(
        ctx,
        case,
        TaskKind.SUPERVISE,
        Role.SUPERVISOR,
        CITY_UNIT,
        bound_to=deadline,
        context={"deadline": deadline.name, "due_at": deadline.due_at.isoformat(), "unit": unit},
    )
    _refresh_overdue(ctx, case)


_RUNG_EVENTS = {
    "warning": "deadline_warning",  # 预警
    "notice": "chase_notice",  # 催办通知书
    "criticism": "criticised",  # 通报批评
}


def _ladder(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """A rung of the supervision ladder: T−2 warning, T+1 notice, then criticism."""
    deadline = _deadline_of(ctx, case, input.deadline_id)
    rung = input.rung
    if rung is None or rung in deadline.rungs or deadline.met_at is not None:
        return
    wanted = DeadlineState.PENDING if rung == "warning" else DeadlineState.OVERDUE
    if deadline.state != wanted:
        return  # the deadline moved on (met, extended, paused) while the timer ran
    deadline.rungs = [*deadline.rungs, rung]
    ctx.session.add(deadline)
    holder = _holder(ctx, case, deadline)
    unit = holder.unit if holder else (deadline.unit or case.unit or CITY_UNIT)
    handler = (holder.assignee if holder else None) or _last_handler(ctx, deadline)
    at = {"warning": deadline.warn_at, "notice": deadline.notice_at}.get(
        rung, deadline.criticise_at
    )
    data: dict[str, Any] = {
        "name": deadline.name,
        "unit": unit,
        "due_at": deadline.due_at.isoformat(),
    }
    if deadline.policy != DeadlinePolicy.SUPERVISE:
        # A time that ends by itself, or another authority's: a reminder, no supervision.
        _event(ctx, case, SYSTEM, "deadline_reminder", **data)
        return
    if rung == "warning":
        _supervision(
            ctx, case, deadline, SupervisionKind.WARNING, unit=unit, handler=handler, at=at
        )
    elif rung == "notice":
        # Copied to the head of the unit (分局负责人).
        data["copy_to"] = f"{unit}-supervisor" if unit != CITY_UNIT else "supervisor"
        _supervision(ctx, case, deadline, SupervisionKind.NOTICE, unit=unit, handler=handler, at=at)
    else:
        data["handler"] = handler
        _supervision(ctx, case, deadline, SupervisionKind.CRITICISM, unit=unit, at=at)
        _supervision(
            ctx, case, deadline, SupervisionKind.ACCOUNTABILITY, unit=unit, handler=handler, at=at
        )
    _event(ctx, case, SYSTEM, _RUNG_EVENTS[rung], **data)


def _supervise(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.SUPERVISE)
    deadline = ctx.session.get(Deadline, task.deadline_id) if task.deadline_id else None
    holder = _holder(ctx, case, deadline) if deadline else None
    actor = submission.actor
    at = submission.created_at
    if isinstance(body, forms.Urge):
        unit = holder.unit if holder else case.unit
        _event(ctx, case, actor, "urged", deadline=deadline.name if deadline else None, unit=unit)
        _supervision(
            ctx,
            case,
            deadline,
            SupervisionKind.URGE,
            unit=unit,
            handler=holder.assignee if holder else None,
            by=actor,
            at=at,
        )
    elif isinstance(body, forms.Extend):
        if deadline is None:
            raise HTTPException(409, "this supervision has no deadline to extend")
        pending = pending_extension(ctx.session, deadline) is not None
        refusal = extension_refusal(ctx.rules, case, deadline, body.working_days, pending)
        if refusal is not None:
            raise refusal
        _extend(ctx, case, deadline, body.working_days, actor, at, "extended by the supervisor")
    else:
        if holder is None:
            raise HTTPException(409, "the supervised step has no open task to reassign")
        if body.handler is not None:
            previous_handler = holder.assignee
            holder.assignee = body.handler
            holder.status = TaskStatus.CLAIMED
            ctx.session.add(holder)
            _event(
                ctx,
                case,
                actor,
                "reassigned",
                task_id=holder.id,
                **{"from": previous_handler, "to": body.handler},
            )
            return
        if holder.kind != TaskKind.HANDLE:
            raise HTTPException(409, "only a case in handling can be reassigned to another unit")
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
        if ctx.mediation is not None:
            mediation.reassign(ctx, ctx.mediation, holder.unit)
        _event(ctx, case, actor, "reassigned", **{"from": previous, "to": holder.unit})


def _extend(
    ctx: StepContext,
    case: Case,
    deadline: Deadline,
    working_days: int,
    actor: str,
    at: datetime,
    reason: str,
) -> None:
    if deadline.fixed:
        deadline.due_date = ctx.calendar.add_working_days(deadline.due_date, working_days).end
    deadline.extended_working_days += working_days
    _event(ctx, case, actor, "deadline_extended", name=deadline.name, working_days=working_days)
    _redate(ctx, case, deadline, actor, reason, at)


def _pause(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """鉴定检测: the deadline's clock stops."""
    deadline = _deadline_of(ctx, case, input.deadline_id)
    submission = _submission(ctx, case, input)
    if deadline.state != DeadlineState.PENDING or deadline.met_at is not None:
        raise HTTPException(409, f"the {deadline.name} deadline is not running")
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
    _event(ctx, case, submission.actor, "clock_paused", name=deadline.name)


def _resume(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The testing or appraisal is over: the clock runs again, later by the days it stood."""
    deadline = _deadline_of(ctx, case, input.deadline_id)
    submission = _submission(ctx, case, input)
    pause = ctx.session.exec(
        select(DeadlinePause).where(
            DeadlinePause.deadline_id == deadline.id, col(DeadlinePause.ended_at).is_(None)
        )
    ).first()
    if deadline.state != DeadlineState.PAUSED or pause is None:
        raise HTTPException(409, f"the {deadline.name} deadline is not paused")
    pause.ended_at = submission.created_at
    ctx.session.add(pause)
    stood = paused_working_days(ctx.calendar, pause)
    deadline.paused_working_days += stood
    if deadline.fixed:
        deadline.due_date = ctx.calendar.add_working_days(deadline.due_date, stood).end
    deadline.state = DeadlineState.PENDING
    _event(ctx, case, submission.actor, "clock_resumed", name=deadline.name, working_days=stood)
    # Resumed after the moved date, it is overdue at once: the workflow's timer fires.
    _redate(ctx, case, deadline, submission.actor, "clock paused", submission.created_at)


def extension_refusal(
    rules: RuleBook,
    case: Case,
    deadline: Deadline,
    working_days: int,
    pending: bool,
    *,
    asking: bool = False,
) -> StepRefused | None:
    """Why an extension of the deadline cannot be asked for (``asking``) or granted now, if
    it cannot.

    A statutory extension (核查 +15 working days, 调查 +30 days) is granted once, and by
    the figure the rule set allows at most; a deadline has one request open at a time, and
    a paused clock (鉴定检测) is resumed before more time is asked for.
    """
    if asking and deadline.state == DeadlineState.PAUSED:
        return StepRefused(
            "deadline.paused",
            f"the clock of the {deadline.name} deadline is paused (鉴定检测); resume it "
            "before asking for an extension",
        )
    if pending:
        return StepRefused(
            "extension.pending",
            f"an extension of the {deadline.name} deadline is already waiting for approval",
        )
    limit = rules.by_code(case.rule_set).limit(deadline.name)
    most = limit.extension_working_days or limit.extension_calendar_days
    if most is None:
        return None
    if deadline.extended_working_days:
        return StepRefused(
            "extension.already_granted",
            f"the {deadline.name} deadline has been extended once already; the law allows "
            "one extension",
        )
    if working_days > most:
        return StepRefused(
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
            col(Task.status).in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
        )
    ).first()


def _request_extension(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The handler asks for more time; the city supervisor approves or refuses."""
    deadline = _deadline_of(ctx, case, input.deadline_id)
    submission = _submission(ctx, case, input)
    days = int(submission.body["working_days"])
    pending = pending_extension(ctx.session, deadline) is not None
    refusal = extension_refusal(ctx.rules, case, deadline, days, pending, asking=True)
    if refusal is not None:
        raise refusal
    _task(
        ctx,
        case,
        TaskKind.APPROVE_EXTENSION,
        Role.SUPERVISOR,
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
    _event(
        ctx, case, submission.actor, "extension_requested", name=deadline.name, working_days=days
    )


def _decide_extension(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    task, submission, body = _take(ctx, case, input, TaskKind.APPROVE_EXTENSION)
    deadline = _deadline_of(ctx, case, task.deadline_id)
    days = int(task.context["working_days"])
    if not body.approve:
        _event(
            ctx, case, submission.actor, "extension_refused", name=deadline.name, working_days=days
        )
        return
    refusal = extension_refusal(ctx.rules, case, deadline, days, pending=False)
    if refusal is not None:
        # Granted already (before the rule was enforced here): the law allows one.
        raise refusal
    _event(ctx, case, submission.actor, "extension_approved", name=deadline.name, working_days=days)
    _extend(
        ctx, case, deadline, days, submission.actor, submission.created_at, "extension approved"
    )


def _recompute(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The calendar changed: every open deadline is counted again from its parts."""
    now = utcnow()
    for deadline in open_deadlines(session=ctx.session, case_no=case.case_no):
        if deadline.mediation_id != ctx.owner:
            continue  # the other workflow of the case recomputes its own
        if deadline.state == DeadlineState.PAUSED:
            continue  # counted again when the clock resumes
        _redate(ctx, case, deadline, SYSTEM, "calendar changed", now)


def _withdraw(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    submission = _submission(ctx, case, input)
    case.outcome = "withdrawn"
    _event(ctx, case, submission.actor, "withdrawn")
    # The ladder ends with the complaint, at whatever rung it stands.
    mediation.end_open(ctx, case, submission.actor, submission.created_at)
    _close(ctx, case, Status.WITHDRAWN, submission.actor, submission.created_at)


STEPS: dict[str, Callable[[StepContext, Case, RecordStepInput], None]] = {
    "open_triage": _open_triage,
    "triage": _triage,
    "handle": _handle,
    "callback": _callback,
    "supervise": _supervise,
    "withdraw": _withdraw,
    "deadline_passed": _deadline_passed,
    "ladder": _ladder,
    "pause": _pause,
    "resume": _resume,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
    "recompute": _recompute,
    "complete_task": _complete_task,
    "open_mediation": lambda ctx, case, input: mediation.opened(ctx, case),
    "end_mediation": lambda ctx, case, input: mediation.stopped(ctx, case),
    "conclude_mediation": lambda ctx, case, input: mediation.conclude(ctx, case),
}
