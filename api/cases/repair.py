"""What a lost answer from Temporal can leave unfinished, finished by the API itself.

Registrations nobody finished: the case row is there, its workflow may not be.

A registration answered 503 ``case.start_unconfirmed`` (Temporal did not confirm the start),
or cut short by a crash of the API between saving the case and starting its workflow, is
finished by the client sending it again. A client that never does would leave the case
without a workflow for ever: its triage task in the inbox with nobody to apply it, no
deadline timed. So the API looks for such cases now and then (their start pending, or still
``registered``: those registered without their first step) and starts their workflows
itself: the start is idempotent (the case number is the workflow id), so a workflow that
runs, or ran, is left alone.

Decisions applied but never confirmed: a step runs as a local activity, inside the workflow
task that accepts the update, so the case's record is written before Temporal stores the
acceptance. If Temporal restarts in between, the update is gone, and the case is ahead of
its workflow: the task done in the record, still open for the workflow. The person's
request failed (503), and a person who does not send it again does not see why: the task
left the inbox. So the API sends such a decision again itself, under its own id: a
workflow that holds it answers as it did (Temporal applies an update id once), one that
lost it accepts it again, and its step, under the same key, finds the step applied and
changes nothing.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select
from temporalio.client import Client

from api import process
from api.casefile import service as casefile
from api.casefile.lifecycle import Status
from api.casefile.models import Case, PendingStart
from api.config import Settings
from api.db import Database, utcnow
from api.temporal import TemporalConnection

log = logging.getLogger("weiquan.repair")

BATCH = 100


def _stranded(*, session: Session, before: datetime) -> list[process.ToStart]:
    """The cases registered before ``before`` whose workflows may not run: their start
    pending, or (registered without their first step) still ``registered``."""
    pending = session.exec(
        select(Case)
        .join(PendingStart, col(PendingStart.case_no) == col(Case.case_no))
        .where(col(PendingStart.since) < before)
        .order_by(col(PendingStart.since))
        .limit(BATCH)
    ).all()
    registered = session.exec(
        select(Case)
        .where(Case.status == Status.REGISTERED)
        .where(col(Case.registered_at) < before)
        .order_by(col(Case.registered_at))
        .limit(BATCH)
    ).all()
    found = (process.unstarted(session=session, case=c) for c in [*pending, *registered])
    return list({each.case_no: each for each in found if each is not None}.values())


async def finish_registrations(*, db: Database, client: Client, settings: Settings) -> list[str]:
    """Starts the workflow of every case whose start is pending (or left in ``registered``)
    too long; returns their numbers (those whose workflow ran already included)."""
    before = utcnow() - timedelta(seconds=settings.registration_repair_after_seconds)
    stranded = await db.run(_stranded, before=before)
    finished = await process.start_all(db=db, client=client, settings=settings, to_start=stranded)
    if finished:
        log.info("started the workflows of %d case(s) left registered", len(finished))
    return finished


async def confirm_decisions(*, db: Database, client: Client, settings: Settings) -> list[str]:
    """Sends again every decision applied more than ``decision_repair_after_seconds`` ago
    whose workflow's answer was never seen, and notes each one answered; returns their ids.
    """
    before = utcnow() - timedelta(seconds=settings.decision_repair_after_seconds)
    answered = []
    for each in await db.run(casefile.unconfirmed, before=before, limit=BATCH):
        outcome = await process.send_again(db=db, client=client, settings=settings, submission=each)
        if outcome is None:
            continue  # Temporal did not answer: the next round asks again
        if not outcome:
            # Refused: the workflow had moved past it already (a later step's answer told
            # it the case's state, this decision included).
            log.warning("decision %s of %s: refused when sent again", each.id, each.case_no)
        answered.append(each.id)
    if answered:
        log.info("confirmed %d decision(s) applied without an answer", len(answered))
    return answered


async def keep_finishing(*, db: Database, temporal: TemporalConnection, settings: Settings) -> None:
    """Runs ``finish_registrations`` and ``confirm_decisions`` every
    ``registration_repair_every_seconds``, for as long as the API runs (its lifespan
    cancels it)."""
    while True:
        await asyncio.sleep(settings.registration_repair_every_seconds)
        for repair in (finish_registrations, confirm_decisions):
            try:
                await repair(db=db, client=await temporal.client(), settings=settings)
            except Exception as error:  # Temporal away: the next round tries again
                log.warning("%s failed: %s", repair.__name__, error)
