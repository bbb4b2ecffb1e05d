"""Histories outlive the engine's retention: a closed case's Temporal histories, archived.

Temporal deletes a closed workflow's history after the namespace's retention
(``temporal_retention_days``; the dev server's default is a day, a cluster's days to
weeks), and audits come years later. The daily checkpoint workflow first asks the API to
archive (``archive_closed``): for each case closed within the retention whose histories
are not archived yet, and whose workflows (the case's and each mediation's) have all
closed, each history is exported as Temporal's own JSON (``WorkflowHistory.to_json``)
into ``auditarchive``, and its SHA-256 is appended to the case's log as
``history_archived``. The checkpoint taken next signs that head, so neither the archive nor
its place in the log can be altered unseen. Verification and replay read the archive once
Temporal no longer has the history.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from api.audit.models import AuditArchive
from api.audit.temporal import is_closed
from api.casefile import history
from api.casefile.models import Case
from api.config import Settings
from api.db import Database, utcnow
from api.mediation.models import Mediation
from api.steps.kit import SYSTEM
from workflows.case import workflow_id
from workflows.mediation import mediation_id


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Pending:
    case_no: str
    workflow_ids: list[str]


def pending(*, session: Session, settings: Settings, limit: int) -> list[Pending]:
    """Cases closed within the retention whose histories are not archived yet."""
    since = utcnow() - timedelta(days=settings.temporal_retention_days)
    archived = select(AuditArchive.case_no)
    rows = session.exec(
        select(Case.case_no, Case.kind)
        .where(col(Case.closed_at).is_not(None), col(Case.closed_at) >= since)
        .where(col(Case.case_no).not_in(archived))
        .order_by(col(Case.closed_at))
        .limit(limit)
    ).all()
    found = []
    for case_no, kind in rows:
        numbers = session.exec(select(Mediation.number).where(Mediation.case_no == case_no)).all()
        ids = [workflow_id(case_no, kind)] + [mediation_id(case_no, n) for n in sorted(numbers)]
        found.append(Pending(case_no, ids))
    return found


def keep(*, session: Session, case_no: str, histories: list[tuple[str, str, str, int]]) -> int:
    """Stores the case's exported histories (workflow id, run id, JSON, events) and puts
    each one's SHA-256 on the case's log; once (a retried activity stores nothing twice)."""
    kept = 0
    for workflow, run_id, text, events in histories:
        sha = digest(text)
        session.add(
            AuditArchive(
                case_no=case_no,
                workflow_id=workflow,
                run_id=run_id,
                events=events,
                sha256=sha,
                history=text,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return 0  # archived already, by an earlier attempt
        history.append(
            session=session,
            case_no=case_no,
            actor=SYSTEM,
            type="history_archived",
            data={"workflow_id": workflow, "run_id": run_id, "events": events, "sha256": sha},
        )
        kept += 1
    session.commit()
    return kept


async def export(client: Client, workflow: str) -> WorkflowHistory | None:
    """The workflow's history if Temporal has it and the workflow has closed."""
    try:
        found = await client.get_workflow_handle(workflow).fetch_history()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return found if found.events and is_closed(found.events[-1].event_type) else None


async def archive_closed(
    *, db: Database, client: Client, settings: Settings, limit: int = 200
) -> int:
    """Archives the histories of up to ``limit`` closed cases; how many were archived."""
    done = 0
    for case in await db.run(pending, settings=settings, limit=limit):
        exported = [await export(client, each) for each in case.workflow_ids]
        if any(h is None for h in exported):
            continue  # a workflow still closing (or gone already): tried again next time
        histories = [
            (h.workflow_id, h.run_id, h.to_json(), len(h.events)) for h in exported if h is not None
        ]
        if await db.run(keep, case_no=case.case_no, histories=histories):
            done += 1
    return done


def archived(*, session: Session, case_no: str) -> dict[str, AuditArchive]:
    """The case's archived histories, by workflow id."""
    rows = session.exec(
        select(AuditArchive).where(AuditArchive.case_no == case_no).order_by(col(AuditArchive.id))
    ).all()
    return {row.workflow_id: row for row in rows}
