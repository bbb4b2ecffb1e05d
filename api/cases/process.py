"""Talking to a case's workflow: starting it and sending it a person's decision."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import HTTPException
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.cases import service as cases
from api.cases.models import Case
from api.config import Settings
from api.mediation.models import Mediation, MediationState
from workflows.case import NOT_CURRENT, CaseWorkflow, workflow_id
from workflows.complaint import ComplaintWorkflow
from workflows.mediation import mediation_id
from workflows.messages import ComplaintInput, ReportInput, UpdateResult
from workflows.report import ReportWorkflow


class NotConfirmed(Exception):
    """The workflow did not answer in time: the decision may still be applied."""


async def start(*, client: Client, settings: Settings, case_no: str, kind: str) -> None:
    run: Any
    arg: ComplaintInput | ReportInput
    if kind == "report":
        run, arg = ReportWorkflow.run, ReportInput(case_no=case_no)
    else:
        run, arg = ComplaintWorkflow.run, ComplaintInput(case_no=case_no)
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


async def ensure_started(*, client: Client, settings: Settings, case_no: str, kind: str) -> None:
    """Starts the case's workflow unless it runs (or ran) already."""
    try:
        await start(client=client, settings=settings, case_no=case_no, kind=kind)
    except WorkflowAlreadyStartedError:
        pass


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


def owner_of(case: Case, mediation: Mediation | None) -> str:
    """The workflow that completes a task or times a deadline: the case's own, or that of
    the mediation owning it."""
    if mediation is not None:
        return mediation_id(case.case_no, mediation.number)
    return workflow_id(case.case_no, case.kind)


# A mediation's first tasks are in the inbox a moment before its workflow has started.
STARTING_WAIT = timedelta(seconds=5)
STARTING_POLL = 0.2


async def update(
    *,
    client: Client,
    settings: Settings,
    case_no: str,
    handler: Any,
    arg: Any,
    workflow: str,
    starting: bool = False,
) -> UpdateResult:
    """Runs one update to completion. A refusal by the workflow is a 409 here.

    ``starting``: the workflow may not have been started yet (a mediation whose case's
    step just opened it); it is waited for a few seconds.
    """
    handle = client.get_workflow_handle(workflow)
    waited = 0.0
    while True:
        try:
            return await _execute(handle, handler, arg, settings)
        except _NotStartedYet as error:
            if not starting or waited >= STARTING_WAIT.total_seconds():
                raise HTTPException(409, f"the process of case {case_no} has ended") from error
            await asyncio.sleep(STARTING_POLL)
            waited += STARTING_POLL


class _NotStartedYet(Exception):
    """No such workflow (yet, or any more)."""


async def _execute(handle: Any, handler: Any, arg: Any, settings: Settings) -> UpdateResult:
    try:
        result: UpdateResult = await handle.execute_update(
            handler, arg, rpc_timeout=timedelta(seconds=settings.update_timeout_seconds)
        )
        return result
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type == NOT_CURRENT:
            raise HTTPException(409, cause.message) from error
        raise HTTPException(409, f"the case refused the step: {cause}") from error
    except WorkflowUpdateRPCTimeoutOrCancelledError as error:
        raise NotConfirmed() from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise _NotStartedYet() from error
        if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise NotConfirmed() from error
        raise HTTPException(503, "the workflow service (Temporal) is not reachable") from error


async def submit(
    *,
    session: Session,
    client: Client,
    settings: Settings,
    case: Case,
    task_id: int | None,
    actor: str,
    body: dict[str, Any],
    handler: Any,
    arg_for: Callable[[str], Any],
    mediation: Mediation | None = None,
) -> None:
    """Stores a person's decision and sends it to the workflow that owns the step: the
    case's own, or that of ``mediation``.

    The free text stays in the database (a ``Submission``); the update carries its id.
    A refusal by the workflow leaves nothing behind.
    """
    submission = cases.new_submission(
        session=session, case_no=case.case_no, task_id=task_id, actor=actor, body=body
    )
    try:
        await update(
            client=client,
            settings=settings,
            case_no=case.case_no,
            handler=handler,
            arg=arg_for(submission.id),
            workflow=owner_of(case, mediation),
            starting=mediation is not None and mediation.state == MediationState.STARTING,
        )
    except HTTPException:
        cases.drop_submission(session=session, submission=submission)
        raise
    except NotConfirmed as error:
        raise HTTPException(
            503, "the decision was sent but not yet confirmed; look again shortly"
        ) from error
    session.expire_all()
