"""A clerk may act on a task the moment it is in the inbox, even before the workflow has
heard back from the step that opened it."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.cases import CaseActivities
from tests.conftest import Database, Stack, open_task, running_stack
from tests.factories import complaint
from workflows.complaint import NOT_CURRENT, ComplaintWorkflow, workflow_id
from workflows.messages import RecordStepInput, StepResult, TriageInput


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
