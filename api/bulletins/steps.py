"""The bulletin's steps (通报), as its workflow records them: drafted (the review task goes
to the city supervisor), then published with its number (文号) and its hash."""

import hashlib

from api.bulletins import service
from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.db import utcnow
from api.errors import Conflict
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.tasks.models import TaskKind
from api.workdays import local_date
from workflows.messages import RecordStepInput


def draft(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The figures frozen when the bulletin was opened are its draft's; the city
    supervisor gets the task to review and publish it."""
    del input
    bulletin = service.of_case(session=ctx.session, case_no=case.case_no)
    bulletin.drafted_at = utcnow()
    ctx.session.add(bulletin)
    kit.move(ctx, case, Status.DRAFT, SYSTEM)
    kit.event(
        ctx,
        case,
        SYSTEM,
        "bulletin_drafted",
        month=bulletin.month,
        version=bulletin.version,
        figures_sha256=hashlib.sha256(service.canonical(bulletin.figures)).hexdigest(),
    )
    kit.open_task(
        ctx,
        case,
        TaskKind.REVIEW_BULLETIN,
        str(case.unit),
        context={"month": bulletin.month, "version": bulletin.version},
    )


def publish(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The supervisor publishes the draft as it is saved: it takes the year's next number,
    the day, and its SHA-256, which the history keeps; nothing of it changes after."""
    taken = kit.take(ctx, case, input, TaskKind.REVIEW_BULLETIN)
    bulletin = service.of_case(session=ctx.session, case_no=case.case_no)
    if bulletin.published_at is not None:
        raise Conflict("bulletin.published", f"{case.case_no} is published")
    if not ctx.number_pattern:
        raise RuntimeError("the step context lacks the bulletin's number pattern")
    bulletin.year, bulletin.seq, bulletin.number = service.number(
        ctx.session, ctx.number_pattern, taken.at
    )
    bulletin.dated = local_date(taken.at).isoformat()
    bulletin.published_at = taken.at
    bulletin.published_by = taken.actor
    bulletin.sha256 = service.sha256(bulletin)
    ctx.session.add(bulletin)
    kit.event(
        ctx,
        case,
        taken.actor,
        "bulletin_published",
        month=bulletin.month,
        version=bulletin.version,
        number=bulletin.number,
        replaces=bulletin.replaces,
        sha256=bulletin.sha256,
    )
    case.closed_at = taken.at
    kit.move(ctx, case, Status.PUBLISHED, taken.actor)


STEPS: dict[str, Step] = {"draft_bulletin": draft, "complete_task": publish}
