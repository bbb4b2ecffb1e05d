"""Reading what verification needs of a case from the database, and of its workflows from
Temporal, then holding them against each other (``api.audit.verify``)."""

from dataclasses import dataclass

from sqlmodel import Session, col, select
from temporalio.client import Client

from api.audit import temporal
from api.audit.models import VerificationPublic
from api.audit.verify import verify
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.models import Event, StepRecord, Submission
from api.db import Database
from api.mediation.models import Mediation
from api.users.models import User
from workflows.case import workflow_id
from workflows.mediation import mediation_id


@dataclass(frozen=True)
class CaseRecord:
    events: list[Event]
    steps: list[StepRecord]
    submissions: list[Submission]
    # The workflow of each step key prefix: "" the case's own, "m<n>." mediation n.
    owners: dict[str, str]


def load(*, session: Session, user: User, case_no: str) -> CaseRecord:
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    numbers = session.exec(select(Mediation.number).where(Mediation.case_no == case.case_no)).all()
    owners = {"": workflow_id(case.case_no, case.kind)}
    owners.update({f"m{n}.": mediation_id(case.case_no, n) for n in numbers})
    return CaseRecord(
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
    )


async def verification(
    *, db: Database, client: Client, user: User, case_no: str
) -> VerificationPublic:
    record = await db.run(load, user=user, case_no=case_no)
    workflows = [await temporal.read(client, each) for each in record.owners.values()]
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
    )
