"""The /tasks routes: the inbox, one task, claiming and releasing it, and completing it."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from api import process
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import DECISION_RESPONSES
from api.inbox import service as inbox
from api.tasks.models import TaskKind, TaskPublic, TasksPublic, TaskStatus

router = APIRouter(prefix="/tasks", tags=["tasks"])

TaskId = Annotated[int, Path(ge=1, le=2**31 - 1)]


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
    return inbox.listing(
        session=session,
        user=user,
        status=status,
        kind=kind,
        case_no=case_no,
        limit=limit,
        offset=offset,
    )


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(task_id: TaskId, session: SessionDep, user: CurrentUser) -> TaskPublic:
    """One task with the JSON Schema of its completion body."""
    return inbox.to_public(inbox.visible(session=session, user=user, task_id=task_id))


@router.post("/{task_id}/claim", response_model=TaskPublic)
def claim_task(task_id: TaskId, session: SessionDep, user: CurrentUser) -> TaskPublic:
    """Takes the task: it is assigned to the caller."""
    return inbox.claim(session=session, user=user, task_id=task_id)


@router.post("/{task_id}/release", response_model=TaskPublic)
def release_task(task_id: TaskId, session: SessionDep, user: CurrentUser) -> TaskPublic:
    """Gives a task the caller claimed back to the unit's queue (409 task.not_claimed if
    it is not claimed)."""
    return inbox.release(session=session, user=user, task_id=task_id)


@router.post(
    "/{task_id}/complete",
    response_model=TaskPublic,
    responses=DECISION_RESPONSES,
)
async def complete_task(
    task_id: TaskId,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
    body: Annotated[dict[str, Any], Body()],
) -> TaskPublic:
    """Completes the task with its kind's body (the task's ``form``); the case moves on."""
    decide = partial(inbox.completion, settings=settings, user=user, task_id=task_id, body=body)
    lost = partial(inbox.lost_answer, user=user, task_id=task_id, body=body)
    await process.submit(db=db, client=temporal, settings=settings, decide=decide, lost=lost)
    return await db.run(inbox.completed, user=user, task_id=task_id)
