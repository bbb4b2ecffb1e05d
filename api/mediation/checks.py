"""What a rung's completion form cannot tell alone, checked before it is sent: the
committee exists, the dates hold (人民调解法 art. 33: the 30 days to apply for judicial
confirmation), and the move is one the ladder allows now, with the consents it needs."""

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.db import utcnow
from api.deadlines.models import Deadline
from api.errors import Conflict, Invalid
from api.mediation.models import Mediation, MediationRung
from api.mediation.steps import legal_move
from api.tasks import forms
from api.tasks.models import Task
from api.workdays import local_date


def check_completion(
    *,
    session: Session,
    committees: dict[str, str],
    task: Task,
    mediation: Mediation,
    body: BaseModel,
) -> None:
    """Raises ``Invalid`` (a field) or ``Refused`` (the ladder or the parties) if the rung's
    completion cannot be taken."""
    today = local_date(utcnow())
    for field in ("told_on", "signed_on", "applied_on", "ruled_on"):
        day = getattr(body, field, None)
        if day is not None and day > today:
            raise Invalid((field, f"{field} may not be in the future"))
    entered = local_date(task.created_at)
    for field in ("told_on", "signed_on"):
        day = getattr(body, field, None)
        if day is not None and day < entered:
            raise Invalid((field, f"{field} is before this step began ({entered})"))
    committee = getattr(body, "committee", None)
    if committee is not None and committee not in committees:
        raise Invalid(("committee", f"unknown people's mediation committee: {committee}"))
    if isinstance(body, forms.JudicialApplied):
        window = session.get(Deadline, task.deadline_id) if task.deadline_id else None
        signed = date.fromisoformat(str(_rung_fact(session, mediation, "signed_on")))
        if body.applied_on < signed:
            raise Invalid(("applied_on", f"applied_on is before the agreement ({signed})"))
        if window is not None and body.applied_on > window.due_date:
            raise Invalid(
                ("applied_on", f"the 30 days to apply ended on {window.due_date.isoformat()}")
            )
    if isinstance(body, forms.CourtEntrusted) and body.due_on <= today:
        raise Invalid(("due_on", "the court's due date must be after today"))
    legal_move(session=session, mediation=mediation, body=body)


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
    raise Conflict("mediation.fact_missing", f"mediation {mediation.number} has no {key} on record")
