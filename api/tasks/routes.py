from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.calendar.workdays import ZONE, local_date
from api.cases import process
from api.cases import service as cases
from api.cases.models import Case, Deadline
from api.config import Settings
from api.db import utcnow
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import DECISION_RESPONSES, conflict
from api.mediation import ladder
from api.mediation import service as ladder_service
from api.mediation import steps as ladder_steps
from api.mediation.ladder import Stage
from api.mediation.models import Mediation, MediationRung, MediationState
from api.rules.service import rules_in_force
from api.tasks import forms
from api.tasks import service as tasks
from api.tasks.models import ACTIVE, Task, TaskKind, TaskPublic, TasksPublic, TaskStatus
from api.units import service as units
from api.units.models import UnitKind
from api.users import service as users
from api.users.models import Role, User
from workflows.case import CaseWorkflow
from workflows.complaint import ComplaintWorkflow
from workflows.messages import (
    CallbackInput,
    ExtensionDecisionInput,
    HandlingInput,
    SuperviseInput,
    TaskInput,
    TriageInput,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])

TaskId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def to_public(task: Task) -> TaskPublic:
    return TaskPublic(
        id=task.id or 0,
        kind=task.kind,
        case_no=task.case_no,
        unit=task.unit,
        role=task.role,
        assignee=task.assignee,
        status=task.status,
        due_at=task.due_at.astimezone(ZONE) if task.due_at else None,
        created_at=task.created_at.astimezone(ZONE),
        completed_at=task.completed_at.astimezone(ZONE) if task.completed_at else None,
        context=task.context,
        result=task.result,
        form=forms.SCHEMAS[task.kind],
    )


@router.get("", response_model=TasksPublic)
def list_tasks(
    session: SessionDep,
    user: CurrentUser,
    status: TaskStatus | None = None,
    kind: TaskKind | None = None,
    case_no: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> TasksPublic:
    """The inbox: tasks this user may act on or see, oldest due first."""
    query = tasks.visible_query(user=user)
    if status is not None:
        query = query.where(Task.status == status)
    if kind is not None:
        query = query.where(Task.kind == kind)
    if case_no is not None:
        query = query.where(Task.case_no == case_no)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return TasksPublic(data=[to_public(t) for t in rows], count=count)


def _visible_task(session: Session, user: User, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if (
        task is None
        or session.exec(tasks.visible_query(user=user).where(Task.id == task_id)).first() is None
    ):
        raise HTTPException(404, f"task {task_id} not found")
    return task


def _actionable(session: Session, user: User, task_id: int) -> Task:
    task = _visible_task(session, user, task_id)
    if not tasks.can_act(user=user, task=task):
        raise HTTPException(
            403, f"a {task.kind} task of unit {task.unit} is for the {task.role} of that unit"
        )
    if task.status not in ACTIVE:
        by = f" by {task.completed_by}" if task.completed_by else ""
        raise conflict(f"task.{task.status}", f"task {task_id} is already {task.status}{by}")
    if task.status == TaskStatus.CLAIMED and task.assignee != user.username:
        raise conflict("task.claimed", f"task {task_id} is claimed by {task.assignee}")
    return task


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(task_id: TaskId, session: SessionDep, user: CurrentUser) -> TaskPublic:
    """One task with the JSON Schema of its completion body."""
    return to_public(_visible_task(session, user, task_id))


@router.post("/{task_id}/claim", response_model=TaskPublic)
def claim_task(task_id: TaskId, session: SessionDep, user: CurrentUser) -> TaskPublic:
    """Takes the task: it is assigned to the caller."""
    task = _actionable(session, user, task_id)
    task.status = TaskStatus.CLAIMED
    task.assignee = user.username
    session.add(task)
    session.commit()
    return to_public(task)


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


def _check_facts(session: Session, case: Case, rule_set: Any, body: Any) -> None:
    """What the form's schema alone cannot tell: units and grounds exist."""
    if isinstance(body, forms.AcceptTriage | forms.Reassign) and body.unit is not None:
        unit = units.get(session=session, code=body.unit)
        if unit is None or unit.kind != UnitKind.BRANCH:
            raise _unprocessable("unit", f"unknown branch unit: {body.unit}")
        if isinstance(body, forms.Reassign) and body.unit == case.unit:
            raise _unprocessable("unit", f"the case is already with {body.unit}")
    if isinstance(body, forms.Reassign) and body.handler is not None:
        handler = users.get_by_username(session=session, username=body.handler)
        if handler is None or handler.role != Role.HANDLER or handler.unit != case.unit:
            raise _unprocessable("handler", f"{body.handler} is not a handler of {case.unit}")
    if isinstance(body, forms.RejectTriage) and rule_set.ground("reject", body.ground) is None:
        raise _unprocessable(
            "ground", f"unknown non-acceptance ground of {rule_set.code}: {body.ground}"
        )
    if isinstance(body, forms.Investigate) and any(
        t.kind == TaskKind.NOTIFY_REPORTER
        for t in tasks.active(session=session, case_no=case.case_no)
    ):
        raise HTTPException(409, "tell the real-name reporter that the case was filed first")
    if isinstance(body, forms.Termination) and rule_set.ground("terminate", body.ground) is None:
        raise _unprocessable(
            "ground", f"unknown termination ground of {rule_set.code}: {body.ground}"
        )


def _check_ladder(
    session: Session, settings: Settings, task: Task, mediation: Mediation, body: Any
) -> None:
    """What a rung's form cannot tell alone: the committee exists, the dates hold, and the
    move has the parties' consent it legally needs (人民调解法 arts. 17, 33)."""
    today = local_date(utcnow())
    for field in ("told_on", "signed_on", "applied_on", "ruled_on"):
        day = getattr(body, field, None)
        if day is not None and day > today:
            raise _unprocessable(field, f"{field} may not be in the future")
    entered = local_date(task.created_at)
    for field in ("told_on", "signed_on"):
        day = getattr(body, field, None)
        if day is not None and day < entered:
            raise _unprocessable(field, f"{field} is before this step began ({entered})")
    committee = getattr(body, "committee", None)
    if committee is not None and committee not in ladder_service.committees(
        settings.committees_file
    ):
        raise _unprocessable("committee", f"unknown people's mediation committee: {committee}")
    if isinstance(body, forms.JudicialApplied):
        window = session.get(Deadline, task.deadline_id) if task.deadline_id else None
        signed = date.fromisoformat(str(_rung_fact(session, mediation, "signed_on")))
        if body.applied_on < signed:
            raise _unprocessable("applied_on", f"applied_on is before the agreement ({signed})")
        if window is not None and body.applied_on > window.due_date:
            raise _unprocessable(
                "applied_on", f"the 30 days to apply ended on {window.due_date.isoformat()}"
            )
    if isinstance(body, forms.CourtEntrusted) and body.due_on <= today:
        raise _unprocessable("due_on", "the court's due date must be after today")
    try:
        purpose = ladder.move(Stage(mediation.stage), forms.decision(body)).consent
    except ladder.IllegalMove as error:
        raise HTTPException(409, str(error)) from error
    if purpose is not None:
        why = ladder_steps.missing_consent(session=session, mediation=mediation, purpose=purpose)
        if why is not None:
            raise HTTPException(409, f"{why}: the consent of both parties is needed first")


def _rung_fact(session: Session, mediation: Mediation, key: str) -> Any:
    """A fact of the mediation's rung records (the latest that has it)."""
    for record in reversed(
        session.exec(
            select(MediationRung)
            .where(MediationRung.mediation_id == mediation.id)
            .order_by(col(MediationRung.id))
        ).all()
    ):
        if key in record.details:
            return record.details[key]
    raise HTTPException(409, f"mediation {mediation.number} has no {key} on record")


def _update_for(task: Task, body: Any) -> tuple[Any, Callable[[str], Any]]:
    """The workflow update that completes the task, and its input for a submission id."""
    task_id = task.id or 0
    if task.mediation_id is not None and task.kind not in (
        TaskKind.SUPERVISE,
        TaskKind.APPROVE_EXTENSION,
    ):
        # A rung of the ladder (its rung 1 is ``handle``): the mediation's workflow.
        return CaseWorkflow.complete_task, lambda submission_id: TaskInput(
            task_id=task_id, submission_id=submission_id, kind=task.kind
        )
    match task.kind:
        case TaskKind.TRIAGE:
            return CaseWorkflow.triage, lambda submission_id: TriageInput(
                task_id=task_id, submission_id=submission_id, decision=body.decision
            )
        case TaskKind.HANDLE:
            return ComplaintWorkflow.complete_handling, lambda submission_id: HandlingInput(
                task_id=task_id, submission_id=submission_id, outcome=body.outcome
            )
        case TaskKind.CALLBACK:
            return ComplaintWorkflow.record_callback, lambda submission_id: CallbackInput(
                task_id=task_id, submission_id=submission_id, reached=body.reached
            )
        case TaskKind.SUPERVISE:
            return CaseWorkflow.supervise, lambda submission_id: SuperviseInput(
                task_id=task_id, submission_id=submission_id, action=body.action
            )
        case TaskKind.APPROVE_EXTENSION:
            return CaseWorkflow.decide_extension, lambda submission_id: ExtensionDecisionInput(
                task_id=task_id, submission_id=submission_id, approve=body.approve
            )
        case TaskKind.VERIFY | TaskKind.NOTIFY_REPORTER | TaskKind.INVESTIGATE | TaskKind.REVIEW:
            return CaseWorkflow.complete_task, lambda submission_id: TaskInput(
                task_id=task_id, submission_id=submission_id, kind=task.kind
            )
    raise HTTPException(409, f"tasks of kind {task.kind} cannot be completed here")


@router.post("/{task_id}/complete", response_model=TaskPublic, responses=DECISION_RESPONSES)
async def complete_task(
    task_id: TaskId,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
    body: Annotated[dict[str, Any], Body()],
) -> TaskPublic:
    """Completes the task with its kind's body; the case moves on."""
    decision = await db.run(_completion, settings=settings, user=user, task_id=task_id, body=body)
    await process.submit(db=db, client=temporal, settings=settings, decision=decision)
    return await db.run(_completed, user=user, task_id=task_id)


def _completion(
    *, session: Session, settings: Settings, user: User, task_id: int, body: dict[str, Any]
) -> process.Decision:
    """The completion to send to the workflow that owns the task."""
    task = _actionable(session, user, task_id)
    try:
        parsed = forms.parse(task.kind, body)
    except ValidationError as error:
        raise HTTPException(422, error.errors(include_url=False, include_context=False)) from error
    stored = parsed.model_dump(mode="json")
    case = cases.get_visible(session=session, user=user, case_no=task.case_no)
    _check_facts(
        session,
        case,
        rules_in_force(session=session, settings=settings).by_code(case.rule_set),
        parsed,
    )
    mediation = session.get(Mediation, task.mediation_id) if task.mediation_id else None
    if mediation is not None and task.kind in ladder_steps.LADDER_KINDS:
        _check_ladder(session, settings, task, mediation, parsed)
    handler, arg_for = _update_for(task, parsed)
    return process.Decision(
        case_no=case.case_no,
        workflow_id=process.owner_of(case, mediation),
        handler=handler,
        target=f"task:{task.id}",
        task_id=task.id,
        actor=user.username,
        body=stored,
        arg_for=arg_for,
        starting=mediation is not None and mediation.state == MediationState.STARTING,
    )


def _completed(*, session: Session, user: User, task_id: int) -> TaskPublic:
    done = _visible_task(session, user, task_id)
    if done.status != TaskStatus.DONE:
        # The case ended meanwhile (a withdrawal took the ladder with it).
        raise conflict(
            "task.cancelled", f"task {task_id} was {done.status} before it could be done"
        )
    return to_public(done)
