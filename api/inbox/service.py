"""The staff inbox: the tasks a person may see and act on, and a completion made ready
for the workflow that owns the task.

A completion is parsed with its kind's form and checked against what the form alone cannot
tell (units, handlers and grounds exist; a rung's dates, committee and consents); the
step that applies it decides by the same rules (``api.mediation.steps.legal_move``,
``api.cases.steps.reporter_not_told``).
"""

from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import update
from sqlmodel import Session, col

from api import process
from api.casefile import service as casefile
from api.casefile.models import Case, Submission
from api.cases.steps import reporter_not_told
from api.config import Settings
from api.db import count_ahead, utcnow
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.mediation import checks as ladder_checks
from api.mediation.models import Mediation, MediationState
from api.mediation.service import committees
from api.mediation.steps import LADDER_KINDS
from api.rules.rulesets import RuleSet
from api.rules.service import rules_in_force
from api.stations import duties
from api.stations.models import HostType
from api.supervision.steps import supervision_refusal
from api.tasks import forms, kinds
from api.tasks import service as tasks
from api.tasks.models import (
    ACTIVE,
    INBOX_ORDER,
    Task,
    TaskKind,
    TaskPublic,
    TasksPublic,
    TaskStatus,
    status_is,
)
from api.units import service as units
from api.units.models import UnitKind
from api.users import service as users
from api.users.models import Role, User
from api.workdays import ZONE, local_date


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
        form=kinds.SCHEMAS[task.kind],
    )


def listing(
    *,
    session: Session,
    user: User,
    status: TaskStatus | None,
    kind: TaskKind | None,
    case_no: str | None,
    limit: int,
    offset: int,
) -> TasksPublic:
    """The tasks this user may act on or see, oldest due first."""
    query = tasks.visible_query(user=user)
    if status is not None:
        query = query.where(status_is(status))  # the open ones: from the inbox's indexes
    if kind is not None:
        query = query.where(Task.kind == kind)
    if case_no is not None:
        query = query.where(Task.case_no == case_no)
    ids = query.with_only_columns(col(Task.id)).order_by(*INBOX_ORDER)
    count, exact = count_ahead(session, ids, offset=offset)
    rows = session.exec(query.order_by(*INBOX_ORDER).offset(offset).limit(limit)).all()
    return TasksPublic(data=[to_public(t) for t in rows], count=count, count_exact=exact)


def visible(*, session: Session, user: User, task_id: int) -> Task:
    """The task, if this user may see it (one query: the task and its visibility)."""
    task: Task | None = session.exec(
        tasks.visible_query(user=user).where(Task.id == task_id)
    ).first()
    if task is None:
        raise NotFound("task.not_found", f"task {task_id} not found")
    return task


def actionable(*, session: Session, user: User, task_id: int) -> Task:
    """The task, if this user may act on it now."""
    task = visible(session=session, user=user, task_id=task_id)
    if not tasks.can_act(user=user, task=task):
        raise NotAllowed(
            "task.not_yours",
            f"a {task.kind} task of unit {task.unit} is for the {task.role} of that unit",
        )
    if task.status not in ACTIVE:
        by = f" by {task.completed_by}" if task.completed_by else ""
        raise Conflict(f"task.{task.status}", f"task {task_id} is already {task.status}{by}")
    if task.status == TaskStatus.CLAIMED and task.assignee != user.username:
        raise Conflict("task.claimed", f"task {task_id} is claimed by {task.assignee}")
    return task


def _take(session: Session, task: Task, status: TaskStatus, assignee: str | None) -> bool:
    """Moves the task on if nobody moved it since it was read (one UPDATE, so two
    colleagues clicking at once cannot both take it)."""
    moved = session.exec(
        update(Task)
        .where(
            col(Task.id) == task.id,
            col(Task.status) == task.status,
            col(Task.assignee).is_(None)
            if task.assignee is None
            else col(Task.assignee) == task.assignee,
        )
        .values(status=status, assignee=assignee)
    )
    session.commit()
    session.refresh(task)
    return bool(moved.rowcount)


def claim(*, session: Session, user: User, task_id: int) -> TaskPublic:
    """Takes the task: it is assigned to the caller."""
    task = actionable(session=session, user=user, task_id=task_id)
    if not _take(session, task, TaskStatus.CLAIMED, user.username):
        actionable(session=session, user=user, task_id=task_id)  # says who took it
    return to_public(task)


def release(*, session: Session, user: User, task_id: int) -> TaskPublic:
    """Gives a claimed task back to the unit's queue: only its assignee may."""
    task = actionable(session=session, user=user, task_id=task_id)
    if task.status != TaskStatus.CLAIMED:
        raise Conflict("task.not_claimed", f"task {task_id} is not claimed")
    if not _take(session, task, TaskStatus.OPEN, None):
        actionable(session=session, user=user, task_id=task_id)
        raise Conflict("task.not_claimed", f"task {task_id} is not claimed")
    return to_public(task)


def check_facts(
    session: Session, case: Case, rule_set: RuleSet, task: Task, body: BaseModel
) -> None:
    """What the form's schema alone cannot tell: units, handlers and grounds exist."""
    if isinstance(body, forms.AcceptTriage | forms.Reassign) and body.unit is not None:
        unit = units.get(session=session, code=body.unit)
        if unit is None or unit.kind != UnitKind.BRANCH:
            raise Invalid(("unit", f"unknown branch unit: {body.unit}"))
        if isinstance(body, forms.Reassign) and body.unit == case.unit:
            raise Invalid(("unit", f"the case is already with {body.unit}"))
    if isinstance(body, forms.Reassign) and body.handler is not None:
        handler = users.get_by_username(session=session, username=body.handler)
        if handler is None or handler.role != Role.HANDLER or handler.unit != case.unit:
            raise Invalid(("handler", f"{body.handler} is not a handler of {case.unit}"))
    if isinstance(body, forms.RejectTriage) and rule_set.ground("reject", body.ground) is None:
        raise Invalid(
            ("ground", f"unknown non-acceptance ground of {rule_set.code}: {body.ground}")
        )
    if isinstance(body, forms.Extend | forms.Reassign):
        refusal = supervision_refusal(session=session, case=case, task=task, body=body)
        if refusal is not None:
            raise refusal
    if isinstance(body, forms.Investigate):
        refusal = reporter_not_told(session=session, case=case)
        if refusal is not None:
            raise refusal
    if isinstance(body, forms.Termination) and rule_set.ground("terminate", body.ground) is None:
        raise Invalid(("ground", f"unknown termination ground of {rule_set.code}: {body.ground}"))
    if isinstance(body, forms.NameSites):
        named = {host.value: getattr(body, host.value) for host in HostType}
        duties.check_sites(session, str(case.unit), named)
    if isinstance(body, forms.Rectified) and body.done_on > local_date(utcnow()):
        raise Invalid(("done_on", "the rectification cannot be done after today"))
    if isinstance(body, forms.Delisted) and body.done_on > local_date(utcnow()):
        raise Invalid(("done_on", "the delisting cannot be done after today"))


def completion(
    *, session: Session, settings: Settings, user: User, task_id: int, body: dict[str, Any]
) -> process.Decision:
    """The completion to send to the workflow that owns the task."""
    task = actionable(session=session, user=user, task_id=task_id)
    try:
        parsed = kinds.parse(TaskKind(task.kind), body)
    except ValidationError as error:
        found = error.errors(include_url=False, include_context=False)
        raise Invalid(errors=[dict(e) for e in found]) from error
    case = casefile.get_visible(session=session, user=user, case_no=task.case_no)
    rule_set = rules_in_force(session=session, settings=settings).by_code(case.rule_set)
    check_facts(session, case, rule_set, task, parsed)
    mediation = session.get(Mediation, task.mediation_id) if task.mediation_id else None
    if mediation is not None and task.kind in LADDER_KINDS:
        ladder_checks.check_completion(
            session=session,
            committees=committees(settings.committees_file),
            task=task,
            mediation=mediation,
            body=parsed,
        )
    handler, arg_for = kinds.update_for(
        TaskKind(task.kind), task_id=task.id or 0, on_ladder=mediation is not None, body=parsed
    )
    return process.Decision(
        case_no=case.case_no,
        workflow_id=process.owner_of(case, mediation.number if mediation else None),
        handler=handler,
        target=f"task:{task.id}",
        task_id=task.id,
        actor=user.username,
        body=parsed.model_dump(mode="json"),
        arg_for=arg_for,
        # A running mediation's workflow may not have been started yet: its first snapshot
        # is handed over in the step that opened it, before the complaint's workflow starts it.
        starting=mediation is not None and mediation.state != MediationState.ENDED,
    )


def lost_answer(
    *, session: Session, user: User, task_id: int, body: dict[str, Any]
) -> Submission | None:
    """This person's own completion of the task, applied by its step but never answered by
    its workflow, when ``body`` is that very completion sent again (``process.submit``)."""
    task = visible(session=session, user=user, task_id=task_id)
    if task.status != TaskStatus.DONE:
        return None
    submission = casefile.applied_unconfirmed(session=session, target=f"task:{task_id}")
    if submission is None or submission.actor != user.username:
        return None
    try:
        sent = kinds.parse(TaskKind(task.kind), body).model_dump(mode="json")
    except ValidationError:
        return None
    return submission if sent == submission.body else None


def completed(*, session: Session, user: User, task_id: int) -> TaskPublic:
    """The task once its completion was applied."""
    done = visible(session=session, user=user, task_id=task_id)
    if done.status != TaskStatus.DONE:
        # The case ended meanwhile (a withdrawal took the ladder with it).
        raise Conflict(
            "task.cancelled", f"task {task_id} was {done.status} before it could be done"
        )
    return to_public(done)
