"""The audit routes of a case."""

from fastapi import APIRouter

from api.audit import service as audit
from api.audit.models import VerificationPublic
from api.deps import CurrentUser, DatabaseDep, TemporalClientDep, require
from api.users.models import Role

router = APIRouter(prefix="/cases", tags=["audit"])


@router.get(
    "/{case_no}/history/verify",
    response_model=VerificationPublic,
    dependencies=[require(Role.AUDITOR, Role.SUPERVISOR)],
)
async def verify_history(
    case_no: str, db: DatabaseDep, temporal: TemporalClientDep, user: CurrentUser
) -> VerificationPublic:
    """Checks the case's record: recomputes its hash chain, and holds the log against the
    Temporal histories of its workflows (the case's and each mediation's). ``ok`` false
    names the first event that is broken, missing or unmatched, and why."""
    return await audit.verification(db=db, client=temporal, user=user, case_no=case_no)
