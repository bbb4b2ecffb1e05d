from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from api.db import utcnow
from api.deadlines.models import Deadline
from api.tasks.models import ACTIVE, Task, TaskKind, TaskStatus
from api.users.models import CITY_UNIT, Role, User


def open_task(
    *,
    session: Session,
    case_no: str,
    kind: TaskKind,
    role: Role,
    unit: str,
    deadline: Deadline | None,
    context: dict[str, Any] | None = None,
    mediation_id: int | None = None,
) -> Task:
    task = Task(
        case_no=case_no,
        kind=kind,
        role=role,
        unit=unit,
        deadline_id=deadline.id if deadline else None,
        due_at=deadline.due_at if deadline else None,
        context=context or {},
        mediation_id=mediation_id,
    )
    session.add(task)
    session.flush()
    return task


def active(*, session: Session, case_no: str) -> list[Task]:
    return list(
        session.exec(
            select(Task)
            .where(Task.case_no == case_no, col(Task.status).in_(ACTIVE))
            .order_by(col(Task.id))
        ).all()
    )


def finish(*, task: Task, by: str, result: dict[str, Any], at: datetime) -> None:
    task.status = TaskStatus.DONE
    task.completed_at = at
    task.completed_by = by
    task.result = result


def cancel(*, task: Task) -> None:
    task.status = TaskStatus.CANCELLED
    task.completed_at = utcnow()


def can_act(*, user: User, task: Task) -> bool:
    """The role the task is for, in its unit (the city supervisor supervises every unit)."""
    if user.role != task.role:
        return False
    return user.unit == task.unit or (user.role == Role.SUPERVISOR and user.unit == CITY_UNIT)


def visible_query(*, user: User) -> Any:
    """Tasks the user may act on, or see: city-wide readers see every task."""
    query = select(Task)
    if user.unit == CITY_UNIT and user.role in (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN):
        return query
    if user.unit == CITY_UNIT:
        return query.where(Task.role == user.role)
    return query.where(Task.unit == user.unit)
