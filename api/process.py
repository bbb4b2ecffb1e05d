"""Talking to a case's workflow: starting it and sending it a person's decision.

Everything here awaits Temporal on the event loop; the database work around it runs in
the threadpool (``api.db.Database``), so a request waiting for a workflow holds neither a
thread nor a connection.

An uncertain outcome is not a failure: when Temporal does not answer, the workflow may
have accepted the decision all the same, so nothing it may need is deleted, and sending
the same again converges (the submission's id is the update's id, which Temporal applies
once).
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete
from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.casefile import service as casefile
from api.casefile.lifecycle import DUTIES, CaseKind, Status
from api.casefile.models import Case, PendingStart, StepRecord, Submission
from api.config import Settings
from api.db import Database
from api.errors import ApiError, Conflict
from api.temporal import TemporalConnection
from api.workdays import ZONE
from workflows.bulletin import BulletinWorkflow
from workflows.case import NOT_CURRENT, REFUSED, CaseWorkflow, workflow_id
from workflows.complaint import ComplaintWorkflow
from workflows.duty import DutyWorkflow
from workflows.mediation import mediation_id
from workflows.messages import (
    FIRST_STEP_KEY,
    BulletinInput,
    ComplaintInput,
    DutyInput,
    FirstStep,
    ReportInput,
    StepResult,
    UpdateResult,
)
from workflows.report import ReportWorkflow

log = logging.getLogger("weiquan.process")


# --- starting ------------------------------------------------------------------------------


class StartUnconfirmed(Exception):
    """Temporal did not say whether the case's workflow started."""


async def start(
    *, client: Client, settings: Settings, case_no: str, kind: str, first: FirstStep | None = None
) -> None:
    """Starts the case's workflow; a complaint or a report with the first step its
    registration applied (``first``), from which it starts."""
    run: Any
    arg: ComplaintInput | ReportInput | BulletinInput | DutyInput
    if kind in DUTIES:
        # A campaign's and a review's deadlines are days they look, not a unit's to meet.
        escalation = kind not in (CaseKind.CAMPAIGN, CaseKind.REVIEW)
        run, arg = DutyWorkflow.run, DutyInput(case_no=case_no, kind=kind, escalation=escalation)
    elif kind == "report":
        run, arg = ReportWorkflow.run, ReportInput(case_no=case_no, first=first)
    elif kind == "bulletin":
        run, arg = BulletinWorkflow.run, BulletinInput(case_no=case_no)
    else:
        run, arg = ComplaintWorkflow.run, ComplaintInput(case_no=case_no, first=first)
    await client.start_workflow(
        run,
        arg,
        id=workflow_id(case_no, kind),
        task_queue=settings.task_queue,
        # A case number is never reused: an existing workflow of that id means the
        # database and Temporal disagree, which must fail loudly, not attach silently.
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def ensure_started(
    *, client: Client, settings: Settings, case_no: str, kind: str, first: FirstStep | None = None
) -> None:
    """Starts the case's workflow unless it runs (or ran) already."""
    try:
        await start(client=client, settings=settings, case_no=case_no, kind=kind, first=first)
    except WorkflowAlreadyStartedError:
        pass


async def start_new(
    *, client: Client, settings: Settings, case_no: str, kind: str, first: FirstStep | None = None
) -> bool:
    """Starts a just-registered case's workflow. True: it runs; False: it certainly does
    not (nothing to keep). Raises ``StartUnconfirmed`` when Temporal cannot tell."""
    try:
        await ensure_started(
            client=client, settings=settings, case_no=case_no, kind=kind, first=first
        )
        return True
    except Exception as error:
        log.warning("starting the workflow of %s failed: %s", case_no, error)
    try:
        await asyncio.wait_for(
            client.get_workflow_handle(workflow_id(case_no, kind)).describe(), timeout=5
        )
        return True  # the request got through after all
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise StartUnconfirmed() from error
    except Exception as error:
        raise StartUnconfirmed() from error


@dataclass(frozen=True)
class ToStart:
    """A case whose workflow must run, with the first step its registration applied (None:
    its workflow takes that step itself)."""

    case_no: str
    kind: str
    first: FirstStep | None = None


def unstarted(*, session: Session, case: Case) -> ToStart | None:
    """The case, if its workflow may not have started: its start pending (or, registered
    before first steps were applied with the registration, still ``registered``)."""
    if session.get(PendingStart, case.case_no) is None and case.status != Status.REGISTERED:
        return None
    record = session.exec(
        select(StepRecord).where(
            StepRecord.case_no == case.case_no, StepRecord.key == FIRST_STEP_KEY
        )
    ).first()
    first = (
        FirstStep(key=record.key, result=StepResult.model_validate(record.result))
        if record is not None
        else None
    )
    return ToStart(case.case_no, case.kind, first)


def unstarted_case(*, session: Session, case_no: str) -> ToStart | None:
    case = session.exec(select(Case).where(Case.case_no == case_no)).first()
    return None if case is None else unstarted(session=session, case=case)


def started(*, session: Session, case_nos: list[str]) -> None:
    """Temporal confirmed that these cases' workflows run."""
    session.exec(delete(PendingStart).where(col(PendingStart.case_no).in_(case_nos)))
    session.commit()


async def start_all(
    *, db: Database, client: Client, settings: Settings, to_start: list[ToStart]
) -> list[str]:
    """Starts the workflows of these registered cases unless they run (or ran) already, and
    notes each one started; returns their numbers. One that Temporal does not take stays
    pending: the registration repair (``api.cases.repair``) starts it later, and so does a
    decision on the case (``submit``)."""
    done = []
    for each in to_start:
        try:
            await ensure_started(
                client=client,
                settings=settings,
                case_no=each.case_no,
                kind=each.kind,
                first=each.first,
            )
        except Exception as error:  # Temporal away: the repair's next round tries again
            log.warning("could not start the workflow of %s: %s", each.case_no, error)
            continue
        done.append(each.case_no)
    if done:
        await db.run(started, case_nos=done)
    return done


async def start_registered(
    db: Database, temporal: TemporalConnection, settings: Settings, to_start: list[ToStart]
) -> None:
    """Starts just-registered cases' workflows once the person has been answered.

    The registration's transaction holds the case, its first step and its pending start: it
    is durable before the answer, and its workflow is what is left to do. Temporal away,
    or this process gone before it got here, the start stays pending and is finished by
    the repair, by a decision on the case, or by the same registration sent again."""
    if not to_start:
        return
    try:
        client = await temporal.client()
    except Exception as error:
        log.warning("starting %d registered case(s): %s", len(to_start), error)
        return
    await start_all(db=db, client=client, settings=settings, to_start=to_start)


async def recompute_deadlines(*, client: Client, settings: Settings, workflows: list[str]) -> None:
    """Asks each workflow that times an open deadline to recompute them (the calendar
    changed).

    A signal: the workflow applies it between steps. A workflow that has ended has no open
    deadline left, so a missing workflow is skipped.
    """
    del settings
    for workflow in workflows:
        try:
            await client.get_workflow_handle(workflow).signal(CaseWorkflow.recompute_deadlines)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise


def owner_of(case: Case, mediation: int | None) -> str:
    """The workflow that completes a task or times a deadline: the case's own, or that of
    its mediation number ``mediation``."""
    if mediation is not None:
        return mediation_id(case.case_no, mediation)
    return workflow_id(case.case_no, case.kind)


# --- decisions -----------------------------------------------------------------------------

# A mediation's first tasks are in the inbox a moment before its workflow has started.
STARTING_WAIT = timedelta(seconds=5)
STARTING_POLL = 0.2


@dataclass(frozen=True)
class Decision:
    """A person's decision, for the workflow that owns the step it is about."""

    case_no: str
    workflow_id: str
    handler: Callable[..., Any]  # the workflow's update, e.g. ``CaseWorkflow.triage``
    target: str  # ``task:<id>``, ``deadline:<id>`` or ``case``
    actor: str
    body: dict[str, Any]
    arg_for: Callable[[str], BaseModel]  # the update's input for a submission id
    task_id: int | None = None
    # The workflow may not have started yet (a mediation its case's step just opened).
    starting: bool = False


class _Outcome(Enum):
    APPLIED = "applied"
    REFUSED = "refused"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class _Answer:
    outcome: _Outcome
    code: str = ""
    message: str = ""


def unconfirmed() -> ApiError:
    return ApiError(
        503,
        "decision.unconfirmed",
        "the decision was sent but the workflow service did not confirm it; it may still be "
        "applied. Sending the same again is safe: it is applied once.",
    )


@dataclass(frozen=True)
class Prepared:
    decision: Decision
    earlier: list[Submission]  # decisions on its target whose outcome is not known yet
    submission: Submission | None  # stored when there were none


def prepare(*, session: Session, decide: Callable[..., Decision]) -> Prepared:
    """The decision, made and, unless an earlier one on its target is unsettled, stored:
    one trip to the database for a decision as it usually goes."""
    decision = decide(session=session)
    earlier = casefile.unsettled(
        session=session, workflow_id=decision.workflow_id, target=decision.target
    )
    return Prepared(decision, earlier, None if earlier else _store(session, decision))


def _store(session: Session, decision: Decision) -> Submission:
    return casefile.new_submission(
        session=session,
        case_no=decision.case_no,
        workflow_id=decision.workflow_id,
        update_name=decision.handler.__name__,
        target=decision.target,
        task_id=decision.task_id,
        actor=decision.actor,
        body=decision.body,
        arg_for=decision.arg_for,
    )


async def submit(
    *,
    db: Database,
    client: Client,
    settings: Settings,
    decide: Callable[..., Decision],
    lost: Callable[..., Submission | None] | None = None,
) -> None:
    """Makes a person's decision (``decide(session=…)``, which checks it and raises what
    is wrong with it), stores it and sends it to the workflow that owns the step.

    The free text stays in the database (a ``Submission``); the update carries its id.
    First, any earlier decision on the same target whose outcome was never confirmed is
    sent again under its own id and settled: if it took the step, this one is refused with
    409, unless it is the very same decision from the same person, which then converges.

    Refused by the workflow: 409, and the submission is marked refused. No answer: 503, and
    the submission stays pending for the next attempt to settle.

    A decision its step applied though Temporal lost the update (it restarted before it
    stored it: the person was answered 503) is done in the record, and ``decide`` refuses it
    (409). ``lost(session=…)`` finds it when this request is the very same decision sent
    again; it is then sent on under its own id, as the repair would a few minutes later,
    and the retry converges.
    """
    try:
        prepared = await db.run(prepare, decide=decide)
    except Conflict:
        if lost is None or not await _send_lost(db, client, settings, lost):
            raise
        return
    decision = prepared.decision
    for each in prepared.earlier:
        answer = await _send_stored(client, settings, each, starting=decision.starting)
        if answer.outcome is _Outcome.REFUSED:
            if await db.run(casefile.refuse_submission, submission_id=each.id):
                continue
        elif answer.outcome is _Outcome.UNCERTAIN:
            raise unconfirmed()
        _confirm(db, each.id)
        if each.actor == decision.actor and each.body == decision.body:
            return  # the same decision, sent again after an unconfirmed answer
        raise ApiError(
            409,
            "decision.taken",
            f"{each.actor} decided this at {each.created_at.astimezone(ZONE):%Y-%m-%d %H:%M} "
            "already",
        )
    submission = prepared.submission
    if submission is None:
        submission = await db.run(_store, decision=decision)
    answer = await _send_stored(client, settings, submission, starting=decision.starting)
    if answer.code == "case.ended" and await _started_now(db, client, settings, decision):
        answer = await _send_stored(client, settings, submission, starting=True)
    if answer.outcome is _Outcome.UNCERTAIN:
        raise unconfirmed()
    if answer.outcome is _Outcome.APPLIED:
        _confirm(db, submission.id)
    elif await db.run(casefile.refuse_submission, submission_id=submission.id):
        if answer.code == "case.ended" and await db.run(
            casefile.start_pending, case_no=decision.case_no
        ):
            # Registered, its task in the inbox, but its workflow not confirmed yet.
            raise ApiError(
                503,
                "case.start_pending",
                "the process of the case has not started yet; it is started within a few "
                "minutes (WEIQUAN_REGISTRATION_REPAIR_*), then send the same again",
            )
        raise ApiError(409, answer.code, answer.message)


async def _send_lost(
    db: Database, client: Client, settings: Settings, lost: Callable[..., Submission | None]
) -> bool:
    """Sends again a decision applied but never answered; True when the workflow has it."""
    submission = await db.run(lost)
    if submission is None:
        return False
    outcome = await send_again(db=db, client=client, settings=settings, submission=submission)
    if outcome is None:
        raise unconfirmed()
    return outcome


async def _started_now(
    db: Database, client: Client, settings: Settings, decision: Decision
) -> bool:
    """A decision on a case registered a moment ago, whose workflow has not started yet (it
    starts once the registration is answered), or whose start Temporal did not take: the
    decision starts it, from the first step its registration recorded. True when it runs."""
    pending = await db.run(unstarted_case, case_no=decision.case_no)
    if pending is None:
        return False
    return pending.case_no in await start_all(
        db=db, client=client, settings=settings, to_start=[pending]
    )


# The confirmations being written, held here so that none is collected before it ran.
_confirming: set[asyncio.Task[None]] = set()


def _confirm(db: Database, submission_id: str) -> None:
    """Notes, after the person is answered, that the workflow answered the decision: its
    history holds it now, and the repair need not ask again. A note lost with the process
    only means the repair asks once more, and Temporal answers as it did."""
    task = asyncio.create_task(_confirmed(db, submission_id))
    _confirming.add(task)
    task.add_done_callback(_confirming.discard)


async def _confirmed(db: Database, submission_id: str) -> None:
    try:
        await db.run(casefile.confirm_submissions, ids=[submission_id])
    except Exception as error:  # the database busy: the repair confirms it later
        log.warning("confirming decision %s: %s", submission_id, error)


async def send_again(
    *, db: Database, client: Client, settings: Settings, submission: Submission
) -> bool | None:
    """Sends a stored decision again under its own id, and notes it confirmed once the
    workflow answers: True when the workflow applied it (now or before), False when it
    refused it (it had moved past it), None when Temporal did not answer."""
    answer = await _send_stored(client, settings, submission, starting=False)
    if answer.outcome is _Outcome.UNCERTAIN:
        return None
    await db.run(casefile.confirm_submissions, ids=[submission.id])
    return answer.outcome is _Outcome.APPLIED


async def _send_stored(
    client: Client, settings: Settings, submission: Submission, *, starting: bool
) -> _Answer:
    """Sends a stored decision to its workflow, under its own id (the update's)."""
    return await _send(
        client,
        settings,
        workflow=submission.workflow_id,
        update=submission.update_name,
        arg=submission.arg,
        update_id=submission.id,
        starting=starting,
    )


async def _send(
    client: Client,
    settings: Settings,
    *,
    workflow: str,
    update: str,
    arg: dict[str, Any],
    update_id: str,
    starting: bool,
) -> _Answer:
    """Runs one update to completion, under the submission's id."""
    handle = client.get_workflow_handle(workflow)
    waited = 0.0
    while True:
        try:
            await handle.execute_update(
                update,
                arg,
                id=update_id,
                result_type=UpdateResult,
                rpc_timeout=timedelta(seconds=settings.update_timeout_seconds),
            )
            return _Answer(_Outcome.APPLIED)
        except WorkflowUpdateFailedError as error:
            return _refusal(error.cause)
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            return _Answer(_Outcome.UNCERTAIN)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                log.warning("update %s of %s: %s", update, workflow, error)
                return _Answer(_Outcome.UNCERTAIN)
            if starting and waited < STARTING_WAIT.total_seconds():
                await asyncio.sleep(STARTING_POLL)
                waited += STARTING_POLL
                continue
            return await _not_found(handle)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a broken connection, a timeout of the client's own
            log.warning("update %s of %s: %r", update, workflow, error)
            return _Answer(_Outcome.UNCERTAIN)


async def _not_found(handle: Any) -> _Answer:
    """A server just restarted can answer "not found" for a workflow it has: only a
    workflow it describes as closed (or not at all) has certainly not taken the update."""
    try:
        described = await asyncio.wait_for(handle.describe(), timeout=5)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return _Answer(_Outcome.REFUSED, "case.ended", "the process of the case has ended")
        return _Answer(_Outcome.UNCERTAIN)
    except Exception:
        return _Answer(_Outcome.UNCERTAIN)
    if described.status == WorkflowExecutionStatus.RUNNING:
        return _Answer(_Outcome.UNCERTAIN)
    return _Answer(_Outcome.REFUSED, "case.ended", "the process of the case has ended")


def _refusal(cause: BaseException | None) -> _Answer:
    if isinstance(cause, ApplicationError):
        code = "step.not_current" if cause.type == NOT_CURRENT else "step.refused"
        if cause.type == REFUSED and cause.details and isinstance(cause.details[0], str):
            code = cause.details[0]  # a rule the step enforces (extension.already_granted, …)
        return _Answer(_Outcome.REFUSED, code, cause.message)
    return _Answer(_Outcome.REFUSED, "step.refused", f"the case refused the step: {cause}")
