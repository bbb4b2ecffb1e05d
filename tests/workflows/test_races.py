"""A clerk may act on a task the moment it is in the inbox, even before the workflow has
heard back from the step that opened it."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.cases import CaseActivities
from tests.conftest import Database, Stack, open_task, running_stack
from tests.factories import complaint
from worker import build_worker
from workflows.complaint import NOT_CURRENT, ComplaintWorkflow, workflow_id
from workflows.mediation import mediation_id
from workflows.messages import CallbackInput, RecordStepInput, StepResult, TriageInput


class SlowToReport(CaseActivities):
    """The real activity, which then takes a while to report back to the workflow."""

    @activity.defn(name="record_step")
    async def record_step(self, input: RecordStepInput) -> StepResult:
        result = await super().record_step(input)
        await asyncio.sleep(1.5)
        return result


@pytest_asyncio.fixture
async def slow_stack(
    sqlite_database: Database, dev_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    def slow(client: httpx.AsyncClient) -> CaseActivities:
        return SlowToReport(client)

    async with running_stack(sqlite_database, dev_env.client, slow) as stack:
        yield stack


async def test_completing_a_task_before_the_workflow_knows_it_succeeds(slow_stack: Stack) -> None:
    created = await slow_stack.call("POST", "/api/v1/cases", "operator", json=complaint())
    case_no = created.json()["case_no"]
    triage = await open_task(slow_stack, case_no, "triage", "operator")  # in the DB already

    done = await slow_stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    case = (await slow_stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "handling"


async def test_an_unknown_task_queued_during_a_step_is_refused_once_the_step_is_in(
    slow_stack: Stack,
) -> None:
    created = await slow_stack.call("POST", "/api/v1/cases", "operator", json=complaint())
    case_no = created.json()["case_no"]
    handle = slow_stack.client.get_workflow_handle(workflow_id(case_no))
    # The triage task is in the database: open_triage is applied, and its result is on
    # its slow way back to the workflow (before that, the workflow may not have run at all).
    await open_task(slow_stack, case_no, "triage", "operator")
    # Sent while open_triage is still being recorded: queued, then checked and refused.
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(
            ComplaintWorkflow.triage,
            TriageInput(task_id=999_999, submission_id="bogus", decision="accept"),
        )
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == NOT_CURRENT
    state = await handle.query(ComplaintWorkflow.state)
    assert state.status == "triage"


async def test_a_mediation_task_completed_before_its_workflow_has_started_succeeds(
    slow_stack: Stack,
) -> None:
    """Acceptance commits the handle task, then the complaint starts its mediation's
    workflow: a handler quick enough to act in between is not turned away."""
    created = await slow_stack.call("POST", "/api/v1/cases", "operator", json=complaint())
    case_no = created.json()["case_no"]
    triage = await open_task(slow_stack, case_no, "triage", "operator")
    accepting = asyncio.create_task(
        slow_stack.call(
            "POST",
            f"/api/v1/tasks/{triage['id']}/complete",
            "operator",
            json={"decision": "accept", "unit": "guichi"},
        )
    )
    handle = await open_task(slow_stack, case_no, "handle", "guichi")
    assert not accepting.done(), "the handle task is in the inbox before acceptance answers"
    mediating = slow_stack.client.get_workflow_handle(mediation_id(case_no, 1))
    with pytest.raises(RPCError):
        await mediating.describe()  # not started yet

    done = await slow_stack.call(
        "POST",
        f"/api/v1/tasks/{handle['id']}/complete",
        "guichi",
        json={"outcome": "agreement", "summary": "商家退款", "reply": "已退款"},
    )
    assert done.status_code == 200, done.text
    assert (await accepting).status_code == 200
    case = (await slow_stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert (case["status"], case["outcome"]) == ("replied", "agreement")


async def _accepted_and_handling(stack: Stack) -> tuple[str, asyncio.Task[httpx.Response]]:
    """A complaint accepted, its handle task being completed with an agreement (the
    mediation's slow step under way); returns the case number and that completion."""
    created = await stack.call("POST", "/api/v1/cases", "operator", json=complaint())
    case_no = created.json()["case_no"]
    triage = await open_task(stack, case_no, "triage", "operator")
    accepted = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert accepted.status_code == 200, accepted.text
    handle = await open_task(stack, case_no, "handle", "guichi")
    handling = asyncio.create_task(
        stack.call(
            "POST",
            f"/api/v1/tasks/{handle['id']}/complete",
            "guichi",
            json={"outcome": "agreement", "summary": "商家退款", "reply": "已退款"},
        )
    )
    return case_no, handling


async def test_a_callback_completed_before_the_complaint_has_its_mediations_result_succeeds(
    slow_stack: Stack,
) -> None:
    """The mediation's last step concludes the complaint and opens its callback task: a
    clerk quick enough to call back before the complaint's workflow has the mediation's
    result is not turned away."""
    case_no, handling = await _accepted_and_handling(slow_stack)
    callback = await open_task(slow_stack, case_no, "callback", "operator")
    assert not handling.done(), "the callback task is in the inbox before the handler's answer"

    done = await slow_stack.call(
        "POST",
        f"/api/v1/tasks/{callback['id']}/complete",
        "operator",
        json={"reached": True, "satisfaction": "satisfied"},
    )
    assert done.status_code == 200, done.text
    assert (await handling).status_code == 200
    case = (await slow_stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert (case["status"], case["satisfaction"]) == ("closed", "satisfied")


async def test_an_unknown_task_sent_while_the_mediation_concludes_is_refused_after_it(
    slow_stack: Stack,
) -> None:
    case_no, handling = await _accepted_and_handling(slow_stack)
    await open_task(slow_stack, case_no, "callback", "operator")
    handle = slow_stack.client.get_workflow_handle(workflow_id(case_no))
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(
            ComplaintWorkflow.record_callback,
            CallbackInput(task_id=999_999, submission_id="bogus", reached=True),
        )
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == NOT_CURRENT
    assert (await handling).status_code == 200
    state = await handle.query(ComplaintWorkflow.state)
    assert state.status == "replied"
    assert [t.kind for t in state.open_tasks] == ["callback"]


async def test_a_triage_sent_before_the_workflow_has_read_its_input_succeeds(
    sqlite_database: Database, dev_env: WorkflowEnvironment
) -> None:
    """The registration applies the first step, so the triage task is in the inbox when it
    is answered: the clerk's decision may reach the workflow in the same first task as its
    start, before it has read its input. It is queued, not refused. (Here no worker polls
    the API's task queue until the decision is sent.)"""
    late = sqlite_database.settings.model_copy(update={"task_queue": f"late-{uuid.uuid4()}"})
    async with running_stack(sqlite_database, dev_env.client, settings=late) as stack:
        created = await stack.call("POST", "/api/v1/cases", "operator", json=complaint())
        assert created.status_code == 201, created.text
        case_no = created.json()["case_no"]
        triage = await open_task(stack, case_no, "triage", "operator")
        accepting = asyncio.create_task(
            stack.call(
                "POST",
                f"/api/v1/tasks/{triage['id']}/complete",
                "operator",
                json={"decision": "accept", "unit": "guichi"},
            )
        )
        await asyncio.sleep(1)  # the update waits for a worker, with the workflow's start
        assert not accepting.done()
        assert stack.service is not None
        async with build_worker(stack.client, late, CaseActivities(stack.service)):
            done = await accepting
        assert done.status_code == 200, done.text
        case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
        assert case["status"] == "handling"
