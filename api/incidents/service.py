"""Opening, resolving and listing incidents; a retry asked for by a supervisor."""

from sqlalchemy import ColumnElement, func, true
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.casefile import history
from api.casefile.models import Case
from api.db import utcnow
from api.errors import Conflict, NotFound
from api.incidents.models import Incident, IncidentPublic, IncidentsPublic, IncidentState
from api.users.models import Role, User
from api.workdays import ZONE
from workflows.messages import IncidentInput, IncidentResult

SYSTEM = "system"


def open_incident(*, session: Session, input: IncidentInput) -> IncidentResult:
    """Records that the step failed every attempt; again for the same key, the incident
    counts the attempts and keeps the latest error (it is opened once)."""
    if session.exec(select(Case.id).where(Case.case_no == input.case_no)).first() is None:
        raise NotFound("case.not_found", f"case {input.case_no} not found")
    now = utcnow()
    incident = _by_key(session, input.case_no, input.key)
    if incident is None:
        incident = Incident(
            case_no=input.case_no,
            workflow_id=input.workflow_id,
            key=input.key,
            step=input.step,
            attempts=input.attempts,
            error=input.error[:1000],
            opened_at=now,
            failed_at=now,
        )
        session.add(incident)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()  # the same activity retried concurrently: that one opened it
            found = _by_key(session, input.case_no, input.key)
            assert found is not None
            return IncidentResult(id=found.id or 0, case_no=found.case_no)
        history.append(
            session=session,
            case_no=input.case_no,
            actor=SYSTEM,
            type="incident_opened",
            data={"incident": incident.id, "step": input.step, "attempts": input.attempts},
        )
    else:
        incident.attempts += input.attempts
        incident.error = input.error[:1000]
        incident.failed_at = now
        if incident.state == IncidentState.RESOLVED:
            incident.state = IncidentState.OPEN
            incident.resolved_at = None
        session.add(incident)
    session.commit()
    return IncidentResult(id=incident.id or 0, case_no=incident.case_no)


def resolve(*, session: Session, case_no: str, incident_id: int) -> None:
    incident = session.get(Incident, incident_id)
    if incident is None or incident.case_no != case_no:
        raise NotFound("incident.not_found", f"incident {incident_id} of {case_no} not found")
    if incident.state == IncidentState.RESOLVED:
        return
    incident.state = IncidentState.RESOLVED
    incident.resolved_at = utcnow()
    session.add(incident)
    history.append(
        session=session,
        case_no=case_no,
        actor=SYSTEM,
        type="incident_resolved",
        data={"incident": incident.id, "step": incident.step},
    )
    session.commit()


def request_retry(*, session: Session, user: User, incident_id: int) -> str:
    """Records who asked for the step again; returns the workflow to tell."""
    incident = visible(session=session, user=user, incident_id=incident_id)
    if incident.state != IncidentState.OPEN:
        raise Conflict("incident.resolved", f"incident {incident_id} is resolved already")
    incident.retry_requested_by = user.username
    incident.retry_requested_at = utcnow()
    session.add(incident)
    history.append(
        session=session,
        case_no=incident.case_no,
        actor=user.username,
        type="incident_retry_requested",
        data={"incident": incident.id, "step": incident.step},
    )
    session.commit()
    return incident.workflow_id


def _by_key(session: Session, case_no: str, key: str) -> Incident | None:
    return session.exec(
        select(Incident).where(Incident.case_no == case_no, Incident.key == key)
    ).first()


def _in_view(user: User) -> ColumnElement[bool]:
    """A branch supervisor sees its own unit's cases; the city sees every case."""
    if user.city_wide:
        return true()
    return col(Case.unit) == user.unit


def visible(*, session: Session, user: User, incident_id: int) -> Incident:
    query = select(Incident).join(Case, col(Case.case_no) == col(Incident.case_no))
    found = session.exec(query.where(_in_view(user), Incident.id == incident_id)).first()
    if found is None:
        raise NotFound("incident.not_found", f"incident {incident_id} not found")
    return found


def unit_of(*, session: Session, case_no: str) -> str | None:
    return session.exec(select(Case.unit).where(Case.case_no == case_no)).first()


def open_of_case(*, session: Session, case_no: str) -> list[IncidentPublic]:
    rows = session.exec(
        select(Incident, Case.unit)
        .join(Case, col(Case.case_no) == col(Incident.case_no))
        .where(Incident.case_no == case_no, Incident.state == IncidentState.OPEN)
        .order_by(col(Incident.id))
    ).all()
    return [to_public(incident, unit) for incident, unit in rows]


def listing(
    *, session: Session, user: User, state: IncidentState | None, limit: int, offset: int
) -> IncidentsPublic:
    query = select(Incident, Case.unit).join(Case, col(Case.case_no) == col(Incident.case_no))
    query = query.where(_in_view(user))
    if state is not None:
        query = query.where(Incident.state == state)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return IncidentsPublic(data=[to_public(i, unit) for i, unit in rows], count=count)


def to_public(incident: Incident, unit: str | None) -> IncidentPublic:
    return IncidentPublic(
        id=incident.id or 0,
        case_no=incident.case_no,
        unit=unit,
        step=incident.step,
        attempts=incident.attempts,
        error=incident.error,
        state=incident.state,
        opened_at=incident.opened_at.astimezone(ZONE),
        failed_at=incident.failed_at.astimezone(ZONE),
        resolved_at=incident.resolved_at.astimezone(ZONE) if incident.resolved_at else None,
        retry_requested_by=incident.retry_requested_by,
        retry_requested_at=(
            incident.retry_requested_at.astimezone(ZONE) if incident.retry_requested_at else None
        ),
    )


ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
