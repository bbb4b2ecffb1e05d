"""Reading what verification needs of a case from the database, and of its workflows from
Temporal, then holding them against each other (``api.audit.verify``)."""

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymerkle import InclusionProof, InvalidProof, verify_inclusion
from sqlmodel import Session, col, select
from temporalio.client import Client

from api.audit import archive, checkpoints, dossier, temporal
from api.audit.keys import signing_key
from api.audit.models import (
    AuditArchive,
    AuditCheckpoint,
    AuditLeaf,
    CoverPublic,
    VerificationPublic,
)
from api.audit.verify import verify
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.models import Event, StepRecord, Submission
from api.config import Settings
from api.db import Database
from api.mediation.models import Mediation
from api.users.models import User
from api.workdays import ZONE
from workflows.case import workflow_id
from workflows.mediation import mediation_id


@dataclass(frozen=True)
class CaseRecord:
    covered: tuple[AuditCheckpoint, AuditLeaf, InclusionProof] | None
    events: list[Event]
    steps: list[StepRecord]
    submissions: list[Submission]
    # The workflow of each step key prefix: "" the case's own, "m<n>." mediation n.
    owners: dict[str, str]
    case_no: str = ""


def load(*, session: Session, user: User, case_no: str) -> CaseRecord:
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    numbers = session.exec(select(Mediation.number).where(Mediation.case_no == case.case_no)).all()
    owners = {"": workflow_id(case.case_no, case.kind)}
    owners.update({f"m{n}.": mediation_id(case.case_no, n) for n in numbers})
    covering = checkpoints.covering(session=session, case_no=case.case_no)
    covered = None
    if covering is not None:
        checkpoint, _ = covering
        leaf, proof = checkpoints.inclusion(
            session=session, checkpoint=checkpoint, case_no=case.case_no
        )
        covered = (checkpoint, leaf, proof)
    return CaseRecord(
        covered=covered,
        events=history.events(session=session, case_no=case.case_no),
        steps=list(
            session.exec(
                select(StepRecord)
                .where(StepRecord.case_no == case.case_no)
                .order_by(col(StepRecord.id))
            ).all()
        ),
        submissions=list(
            session.exec(select(Submission).where(Submission.case_no == case.case_no)).all()
        ),
        owners=owners,
        case_no=case.case_no,
    )


async def verification(
    *, db: Database, client: Client, settings: Settings, user: User, case_no: str
) -> VerificationPublic:
    record = await db.run(load, user=user, case_no=case_no)
    cover = None
    problem: tuple[int, str] | None = None
    if record.covered is not None:
        checkpoint, leaf, proof = record.covered
        cover = CoverPublic(
            id=checkpoint.id or 0,
            at=checkpoint.at.astimezone(ZONE),
            tree_size=checkpoint.tree_size,
            root=checkpoint.root,
            seq=leaf.seq,
            head=leaf.head,
        )
        problem = against_checkpoint(
            record.events, checkpoint, leaf, proof, signing_key(settings).public_key()
        )
    kept = await db.run(archive.archived, case_no=record.case_no)
    problem = problem or archive_problem(record.events, kept)
    if problem is not None:
        seq, reason = problem
        return VerificationPublic(
            ok=False,
            events=len(record.events),
            temporal_events=0,
            first_bad_seq=seq,
            reason=reason,
            checkpoint=cover,
        )
    workflows = [
        await temporal.read(client, each, kept[each].history if each in kept else None)
        for each in record.owners.values()
    ]
    verdict = verify(
        events=record.events,
        steps=record.steps,
        submissions=record.submissions,
        workflows=workflows,
        owner_of_key=record.owners,
    )
    return VerificationPublic(
        ok=verdict.ok,
        events=verdict.events,
        temporal_events=verdict.temporal_events,
        first_bad_seq=verdict.first_bad_seq,
        reason=verdict.reason,
        workflows=verdict.workflows,
        unavailable=verdict.unavailable,
        archived=verdict.archived,
        checkpoint=cover,
    )


def archive_problem(events: list[Event], kept: dict[str, AuditArchive]) -> tuple[int, str] | None:
    """Each archived history is the one whose SHA-256 the case's log recorded."""
    recorded = {e.data.get("workflow_id"): e for e in events if e.type == "history_archived"}
    for workflow, row in kept.items():
        event = recorded.get(workflow)
        if event is None:
            seq = events[-1].seq if events else 0
            return seq, f"the archived history of {workflow} is not in the case's log"
        if archive.digest(row.history) != event.data.get("sha256"):
            return (
                event.seq,
                f"the archived history of {workflow} was altered after event {event.seq}",
            )
    return None


def against_checkpoint(
    events: list[Event],
    checkpoint: AuditCheckpoint,
    leaf: AuditLeaf,
    proof: InclusionProof,
    public: Ed25519PublicKey,
) -> tuple[int, str] | None:
    """The case's log against the head a checkpoint signed: the signature is the audit
    key's, the head is in the signed tree, and the log still has that head. A forger who
    rewrote an event and recomputed the chain after it fails the last."""
    if not checkpoints.signature_holds(checkpoint, public):
        return leaf.seq, f"checkpoint {checkpoint.id} is not signed by the audit key"
    try:
        verify_inclusion(checkpoints.leaf_hash(leaf), bytes.fromhex(checkpoint.root), proof)
    except InvalidProof:
        return leaf.seq, f"checkpoint {checkpoint.id} does not hold the head it names"
    found = next((e for e in events if e.seq == leaf.seq), None)
    if found is None or found.hash != leaf.head:
        return leaf.seq, (
            f"event {leaf.seq} is not what checkpoint {checkpoint.id} signed on "
            f"{checkpoint.at.astimezone(ZONE):%Y-%m-%d %H:%M}: the history was rewritten"
        )
    return None


async def dossier_document(
    *, db: Database, client: Client, settings: Settings, user: User, case_no: str
) -> tuple[str, str]:
    """The dossier (案件卷宗) as HTML, with the verification of its record, and its case
    number: what ``GET /cases/{no}/dossier`` and the workplace's dossier page show."""
    page = await db.run(dossier.content, settings=settings, user=user, case_no=case_no)
    verified = await verification(
        db=db, client=client, settings=settings, user=user, case_no=case_no
    )
    return dossier.html({**page, "verification": dossier.verification_text(verified)}), page[
        "case"
    ].case_no
