"""The audit routes of a case."""

from fastapi import APIRouter

from api.audit import service as audit
from api.audit.keys import fingerprint, public_pem, signing_key
from api.audit.models import PublicKeyPublic, VerificationPublic
from api.deps import CurrentUser, DatabaseDep, SettingsDep, TemporalClientDep, require
from api.users.models import Role

router = APIRouter(prefix="/cases", tags=["audit"])
# The audit's own routes (signed checkpoints), outside a case.
audit_router = APIRouter(prefix="/audit", tags=["audit"])


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


@audit_router.get("/public-key", response_model=PublicKeyPublic)
def public_key(settings: SettingsDep) -> PublicKeyPublic:
    """The Ed25519 public key that signs the checkpoints (public: no sign-in). Compare its
    fingerprint with the one the bureau publishes before trusting a checkpoint."""
    key = signing_key(settings).public_key()
    return PublicKeyPublic(algorithm="Ed25519", pem=public_pem(key), fingerprint=fingerprint(key))
