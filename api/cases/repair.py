"""Registrations nobody finished: the case row is there, its workflow may not be.

A registration answered 503 ``case.start_unconfirmed`` (Temporal did not confirm the start),
or cut short by a crash of the API between saving the case and starting its workflow, is
finished by the client sending it again. A client that never does would leave the case
without a workflow for ever: its triage task in the inbox with nobody to apply it, no
deadline timed. So the API looks for such cases now and then (their start pending, or still
``registered``: those registered without their first step) and starts their workflows
itself: the start is idempotent (the case number is the workflow id), so a workflow that
runs, or ran, is left alone.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select
from temporalio.client import Client

from api import process
from api.casefile.lifecycle import Status
from api.casefile.models import Case, PendingStart
from api.cases import registration
from api.config import Settings
from api.db import Database, utcnow
from api.temporal import TemporalConnection

log = logging.getLogger("weiquan.repair")

BATCH = 100


def _stranded(*, session: Session, before: datetime) -> list[registration.ToStart]:
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
    found = (registration.pending(session=session, case=c) for c in [*pending, *registered])
    return list({each.case_no: each for each in found if each is not None}.values())


async def finish_registrations(*, db: Database, client: Client, settings: Settings) -> list[str]:
    """Starts the workflow of every case whose start is pending (or left in ``registered``)
    too long; returns their numbers (those whose workflow ran already included)."""
    before = utcnow() - timedelta(seconds=settings.registration_repair_after_seconds)
    finished = []
    for each in await db.run(_stranded, before=before):
        try:
            await process.ensure_started(
                client=client,
                settings=settings,
                case_no=each.case_no,
                kind=each.kind,
                first=each.first,
            )
        except Exception as error:  # Temporal away: the next round tries again
            log.warning("could not start the workflow of %s: %s", each.case_no, error)
            continue
        finished.append(each.case_no)
    if finished:
        await db.run(registration.started, case_nos=finished)
        log.info("started the workflows of %d case(s) left registered", len(finished))
    return finished


async def keep_finishing(*, db: Database, temporal: TemporalConnection, settings: Settings) -> None:
    """Runs ``finish_registrations`` every ``registration_repair_every_seconds``, for as
    long as the API runs (its lifespan cancels it)."""
    while True:
        await asyncio.sleep(settings.registration_repair_every_seconds)
        try:
            await finish_registrations(db=db, client=await temporal.client(), settings=settings)
        except Exception as error:  # Temporal away: the next round tries again
            log.warning("finishing registrations failed: %s", error)
