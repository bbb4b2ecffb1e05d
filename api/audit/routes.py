"""The audit routes of a case."""

from typing import Annotated, Literal
from uuid import uuid4

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.audit import checkpoints, dossier
from api.audit import service as audit
from api.audit.keys import fingerprint, public_pem, signing_key
from api.audit.models import (
    CheckpointPublic,
    CheckpointsPublic,
    ConsistencyPublic,
    InclusionPublic,
    PublicKeyPublic,
    VerificationPublic,
)
from api.casefile import service as casefile
from api.deps import (
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    TemporalClientDep,
    require,
)
from api.errors import DECISION_RESPONSES, Invalid
from api.users.models import Role
from workflows.audit import SCHEDULE_ID, AuditCheckpointWorkflow
from workflows.messages import CheckpointInput

CheckpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/cases", tags=["audit"])
# The audit's own routes (signed checkpoints), outside a case.
audit_router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "/{case_no}/dossier",
    # The page is HTML or, with ?format=pdf, the same page printed; its errors are JSON
    # like every route's (so the route keeps the JSON response class for its errors).
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
    dependencies=[require(Role.AUDITOR, Role.SUPERVISOR)],
)
async def get_dossier(
    case_no: str,
    db: DatabaseDep,
    temporal: TemporalClientDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Annotated[
        Literal["html", "pdf"], Query(description="html (the page) or pdf (the page, printed)")
    ] = "html",
) -> Response:
    """The case dossier (案件卷宗): a printable page in Chinese with the case, its parties
    as the reader may see them, the decisions with their statutory text, the deadlines,
    the supervision record, the mediation and the verification of its record; as HTML,
    or with ``?format=pdf`` the same page printed on A4."""
    html, number = await audit.dossier_document(
        db=db, client=temporal, settings=settings, user=user, case_no=case_no
    )
    return await dossier.response(html, number, format, download=False)


@router.get(
    "/{case_no}/history/verify",
    response_model=VerificationPublic,
    dependencies=[require(Role.AUDITOR, Role.SUPERVISOR)],
)
async def verify_history(
    case_no: str,
    db: DatabaseDep,
    temporal: TemporalClientDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> VerificationPublic:
    """Checks the case's record: recomputes its hash chain, and holds the log against the
    Temporal histories of its workflows (the case's and each mediation's). ``ok`` false
    names the first event that is broken, missing or unmatched, and why."""
    return await audit.verification(
        db=db, client=temporal, settings=settings, user=user, case_no=case_no
    )


@audit_router.get("/public-key", response_model=PublicKeyPublic)
def public_key(settings: SettingsDep) -> PublicKeyPublic:
    """The Ed25519 public key that signs the checkpoints (public: no sign-in). Compare its
    fingerprint with the one the bureau publishes before trusting a checkpoint."""
    key = signing_key(settings).public_key()
    return PublicKeyPublic(algorithm="Ed25519", pem=public_pem(key), fingerprint=fingerprint(key))


READERS = require(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)


@audit_router.get("/checkpoints", response_model=CheckpointsPublic, dependencies=[READERS])
def list_checkpoints(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CheckpointsPublic:
    """The signed checkpoints, newest first."""
    return checkpoints.listing(session=session, limit=limit, offset=offset)


@audit_router.post(
    "/checkpoints",
    response_model=CheckpointPublic,
    status_code=201,
    dependencies=[require(Role.ADMIN)],
    responses=DECISION_RESPONSES,
)
async def take_checkpoint(
    db: DatabaseDep, temporal: TemporalClientDep, settings: SettingsDep
) -> CheckpointPublic:
    """Takes a checkpoint now (the schedule takes one daily): runs the checkpoint workflow
    and answers with what it signed."""
    taken = await temporal.execute_workflow(
        AuditCheckpointWorkflow.run,
        CheckpointInput(key=f"manual-{uuid4().hex}"),
        id=f"{SCHEDULE_ID}-manual-{uuid4().hex[:12]}",
        task_queue=settings.task_queue,
    )
    return await db.run(checkpoints.public_of, checkpoint_id=taken.id)


@audit_router.get(
    "/checkpoints/{checkpoint_id}/proof",
    response_model=InclusionPublic,
    dependencies=[require(Role.AUDITOR, Role.SUPERVISOR)],
)
def inclusion_proof(
    checkpoint_id: CheckpointId, case_no: str, session: SessionDep, user: CurrentUser
) -> InclusionPublic:
    """The proof that the case's head, as the checkpoint found it, is in its signed tree."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    checkpoint = checkpoints.get(session=session, checkpoint_id=checkpoint_id)
    leaf, proof = checkpoints.inclusion(
        session=session, checkpoint=checkpoint, case_no=case.case_no
    )
    return InclusionPublic(
        checkpoint=checkpoints.to_public(checkpoint),
        leaf=checkpoints.leaf_public(leaf),
        proof=proof.serialize(),
    )


@audit_router.get(
    "/checkpoints/{checkpoint_id}/consistency",
    response_model=ConsistencyPublic,
    dependencies=[READERS],
)
def consistency_proof(
    checkpoint_id: CheckpointId,
    earlier_id: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    session: SessionDep,
) -> ConsistencyPublic:
    """The proof that the earlier checkpoint's tree is a prefix of this one's: nothing it
    covered was altered or removed."""
    later = checkpoints.get(session=session, checkpoint_id=checkpoint_id)
    earlier = checkpoints.get(session=session, checkpoint_id=earlier_id)
    if earlier.tree_size > later.tree_size:
        raise Invalid(("from", "the earlier checkpoint must come first"), where="query")
    proof = checkpoints.consistency(session=session, earlier=earlier, later=later)
    return ConsistencyPublic(
        earlier=checkpoints.to_public(earlier),
        later=checkpoints.to_public(later),
        proof=proof.serialize(),
    )
