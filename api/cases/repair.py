"""Registrations nobody finished: the case row is there, its workflow may not be.

A registration answered 503 ``case.start_unconfirmed`` (Temporal did not confirm the start),
or cut short by a crash of the API between saving the case and starting its workflow, is
finished by the client sending it again. A client that never does would leave the case in
``registered`` for ever, with no task in anyone's inbox. So the API looks for such cases
now and then and starts their workflows itself: the start is idempotent (the case number is
the workflow id), so a workflow that runs, or ran, is left alone.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select
from temporalio.client import Client

from api import process
from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.config import Settings
from api.db import Database, utcnow
from api.temporal import TemporalConnection

log = logging.getLogger("weiquan.repair")

BATCH = 100


def _stranded(*, session: Session, before: datetime) -> list[tuple[str, str]]:
    rows = session.exec(
        select(Case.case_no, Case.kind)
        .where(Case.status == Status.REGISTERED)
        .where(col(Case.registered_at) < before)
        .order_by(col(Case.registered_at))
        .limit(BATCH)
    ).all()
    return [(case_no, str(kind)) for case_no, kind in rows]


async def finish_registrations(*, db: Database, client: Client, settings: Settings) -> list[str]:
    """Starts the workflow of every case left in ``registered`` too long; returns their
    numbers (those whose workflow ran already included)."""
    before = utcnow() - timedelta(seconds=settings.registration_repair_after_seconds)
    finished = []
    for case_no, kind in await db.run(_stranded, before=before):
        try:
            await process.ensure_started(
                client=client, settings=settings, case_no=case_no, kind=kind
            )
        except Exception as error:  # Temporal away: the next round tries again
            log.warning("could not start the workflow of %s: %s", case_no, error)
            continue
        finished.append(case_no)
    if finished:
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
