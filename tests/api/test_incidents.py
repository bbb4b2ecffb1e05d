"""A step that fails every attempt is an incident supervisors see, not a silent retry for
ever; once its cause is fixed, a supervisor has it tried again and the case moves on."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.cases import CaseActivities
from tests.conftest import Database, Stack, open_task, register, running_stack
from tests.factories import eventually
from workflows.messages import RecordStepInput, StepResult

INCIDENTS = "/api/v1/supervision/incidents"


class BrokenTriage(CaseActivities):
    """The triage step fails (as a defect in the API would) until ``fixed``."""

    fixed = False
    attempts = 0

    @activity.defn(name="record_step")
    async def record_step(self, input: RecordStepInput) -> StepResult:
        if input.step == "triage" and not BrokenTriage.fixed:
            BrokenTriage.attempts += 1
            # What the real activity raises once its retries are used up, without the wait.
            raise ApplicationError(
                f"API refused step triage of {input.case_no}: 409 something is wrong",
                type="StepRefused",
                non_retryable=True,
            )
        return await super().record_step(input)


@pytest_asyncio.fixture
async def broken(database: Database, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    BrokenTriage.fixed = False
    BrokenTriage.attempts = 0
    async with running_stack(database, dev_env.client, BrokenTriage) as stack:
        yield stack


async def incidents(stack: Stack, as_: str = "supervisor", **params: Any) -> list[dict[str, Any]]:
    response = await stack.call("GET", INCIDENTS, as_, params=params or None)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_a_failing_step_opens_an_incident_and_a_supervisors_retry_resolves_it(
    broken: Stack,
) -> None:
    stack = broken
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    # The clerk's request waits for the step; it is answered once the step goes through.
    clerk = asyncio.ensure_future(
        stack.call(
            "POST",
            f"/api/v1/tasks/{triage['id']}/complete",
            "operator",
            json={"decision": "accept", "unit": "guichi"},
        )
    )

    async def opened() -> list[dict[str, Any]]:
        return [i for i in await incidents(stack) if i["case_no"] == case_no]

    [incident] = await eventually(opened)
    assert incident["step"] == "triage" and incident["state"] == "open"
    assert incident["unit"] is None and "something is wrong" in incident["error"]
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    assert [i["id"] for i in case["incidents"]] == [incident["id"]]
    # Nothing retries it out of sight meanwhile.
    tried = BrokenTriage.attempts
    await asyncio.sleep(1.5)
    assert BrokenTriage.attempts == tried

    # Not for handlers or operators to retry; a branch supervisor does not see the city's.
    for user in ("operator", "guichi"):
        refused = await stack.call("POST", f"{INCIDENTS}/{incident['id']}/retry", user)
        assert refused.status_code == 403, refused.text
    assert await incidents(stack, "guichi-supervisor") == []

    BrokenTriage.fixed = True  # the cause is fixed (a deployment, a data repair)
    retried = await stack.call("POST", f"{INCIDENTS}/{incident['id']}/retry", "supervisor")
    assert retried.status_code == 200, retried.text
    assert retried.json()["retry_requested_by"] == "supervisor"

    answer = await clerk
    assert answer.status_code in (200, 503), answer.text
    await open_task(stack, case_no, "handle", "guichi")

    async def resolved() -> list[dict[str, Any]]:
        return [i for i in await incidents(stack, state="resolved") if i["case_no"] == case_no]

    [done] = await eventually(resolved)
    assert done["resolved_at"] is not None
    assert await incidents(stack) == []
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    types = [e["type"] for e in history["events"]]
    opened_at = types.index("incident_opened")
    assert types.index("incident_retry_requested") > opened_at
    assert types.index("incident_resolved") > types.index("incident_retry_requested")
    assert types.count("task_completed") == 1
    again = await stack.call("POST", f"{INCIDENTS}/{incident['id']}/retry", "supervisor")
    assert again.status_code == 409, again.text
