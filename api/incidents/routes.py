from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import Session

from api.deps import CurrentUser, DatabaseDep, SessionDep, TemporalClientDep, require
from api.errors import ApiError
from api.incidents import service as incidents
from api.incidents.models import IncidentPublic, IncidentsPublic, IncidentState
from api.users.models import Role, User
from workflows.case import CaseWorkflow

router = APIRouter(prefix="/supervision/incidents", tags=["supervision"])

IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=IncidentsPublic, dependencies=[require(*incidents.ROLES)])
def list_incidents(
    session: SessionDep,
    user: CurrentUser,
    state: IncidentState | None = IncidentState.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> IncidentsPublic:
    """Steps that failed every attempt (故障): the case waits there until it goes through."""
    return incidents.listing(session=session, user=user, state=state, limit=limit, offset=offset)


@router.post(
    "/{incident_id}/retry",
    response_model=IncidentPublic,
    dependencies=[require(Role.SUPERVISOR, Role.ADMIN)],
)
async def retry_incident(
    incident_id: IncidentId, db: DatabaseDep, temporal: TemporalClientDep, user: CurrentUser
) -> IncidentPublic:
    """Has the failed step tried again now (once its cause is fixed)."""
    workflow = await db.run(incidents.request_retry, user=user, incident_id=incident_id)
    try:
        await temporal.get_workflow_handle(workflow).signal(CaseWorkflow.retry_step)
    except Exception as error:
        raise ApiError(
            503, "service.unavailable", "the workflow service (Temporal) is not reachable"
        ) from error
    return await db.run(_public, user=user, incident_id=incident_id)


def _public(*, session: Session, user: User, incident_id: int) -> IncidentPublic:
    incident = incidents.visible(session=session, user=user, incident_id=incident_id)
    case_unit = incidents.unit_of(session=session, case_no=incident.case_no)
    return incidents.to_public(incident, case_unit)
