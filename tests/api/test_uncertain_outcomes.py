"""When Temporal's answer to a decision is lost, the decision is kept and a retry converges.

The faults are injected between the API and a real Temporal server: the update reaches the
server and is accepted, then the connection "drops" before the answer comes back (what a
Temporal restart mid-completion does). Before the fix the API deleted the submission it
had sent, the step then failed for ever with "submission … not found", and the case was
stuck at that step.
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlmodel import select
from temporalio import activity
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.cases import CaseActivities
from api.casefile.models import Submission, SubmissionState
from api.cases import repair
from api.db import Database as DatabaseRunner
from tests.conftest import Database, Stack, open_task, register, running_stack
from tests.factories import eventually
from workflows.complaint import workflow_id
from workflows.messages import RecordStepInput, StepResult

ACCEPT = {"decision": "accept", "unit": "guichi"}


class LoseAnswers(Interceptor):
    """While armed, an update is delivered and accepted, then its answer is lost; or, with
    ``deliver`` False, the update itself is lost: what a Temporal restart does to one whose
    local step ran before the workflow task that accepted it could be stored."""

    def __init__(self) -> None:
        self.armed = 0
        self.deliver = True

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Lossy(next, self)


class _Lossy(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, faults: LoseAnswers) -> None:
        super().__init__(next)
        self.faults = faults

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        if self.faults.armed <= 0:
            return await self.next.start_workflow_update(input)
        self.faults.armed -= 1
        if not self.faults.deliver:
            raise RPCError(
                "update aborted: server restarted (injected)", RPCStatusCode.UNAVAILABLE, b""
            )
        accepted = dataclasses.replace(input, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        await self.next.start_workflow_update(accepted)
        raise RPCError("connection reset (injected)", RPCStatusCode.UNAVAILABLE, b"")


class HeldSteps(CaseActivities):
    """Triage steps wait until the test lets them through."""

    release = asyncio.Event()

    @activity.defn(name="record_step")
    async def record_step(self, input: RecordStepInput) -> StepResult:
        if input.step == "triage":
            await self.release.wait()
        return await super().record_step(input)


@dataclasses.dataclass
class Faulty:
    stack: Stack
    faults: LoseAnswers


@pytest_asyncio.fixture
async def faulty(database: Database, dev_env: WorkflowEnvironment) -> AsyncIterator[Faulty]:
    faults = LoseAnswers()
    api_client = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        interceptors=[faults],
    )
    HeldSteps.release = asyncio.Event()
    async with running_stack(database, dev_env.client, HeldSteps, api_client=api_client) as stack:
        yield Faulty(stack, faults)
    HeldSteps.release.set()


def submissions(stack: Stack, case_no: str) -> list[Submission]:
    with stack.db() as session:
        return list(session.exec(select(Submission).where(Submission.case_no == case_no)).all())


async def test_a_decision_whose_answer_was_lost_is_kept_and_applied(faulty: Faulty) -> None:
    stack = faulty.stack
    HeldSteps.release.set()
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")

    faulty.faults.armed = 1
    lost = await stack.call(
        "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=ACCEPT
    )

    assert lost.status_code == 503, lost.text
    assert lost.json()["code"] == "decision.unconfirmed"
    assert "safe" in lost.json()["detail"]
    # The workflow had it: the case moves on, and nothing was thrown away.
    await open_task(stack, case_no, "handle", "guichi")
    kept = submissions(stack, case_no)
    assert [(s.target, s.state) for s in kept] == [
        (f"task:{triage['id']}", SubmissionState.APPLIED)
    ]
    # Sent again, as the 503 says: answered as the first would have been, applied once.
    again = await stack.call(
        "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=ACCEPT
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "done" and again.json()["result"] == ACCEPT
    [sent] = submissions(stack, case_no)
    assert sent.state == SubmissionState.APPLIED and sent.confirmed_at is not None
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    assert [e["type"] for e in history["events"]].count("task_completed") == 1
    # Another decision is refused: the task says it is done, and by whom.
    other = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "dongzhi"},
    )
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "task.done" and "operator" in other.json()["detail"]


async def test_a_retry_while_the_step_is_still_running_converges(faulty: Faulty) -> None:
    stack = faulty.stack
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    url = f"/api/v1/tasks/{triage['id']}/complete"

    faulty.faults.armed = 1
    lost = await stack.call("POST", url, "operator", json=ACCEPT)
    assert lost.status_code == 503, lost.text
    [pending] = submissions(stack, case_no)
    assert pending.state == SubmissionState.PENDING  # accepted, its step not yet applied

    # Sent again while the step still runs: it waits for the first one (same update id).
    async def let_the_step_through() -> None:
        await asyncio.sleep(0.5)
        HeldSteps.release.set()

    retry, _ = await asyncio.gather(
        stack.call("POST", url, "operator", json=ACCEPT), let_the_step_through()
    )
    # The same decision again is the first one's outcome: done, once.
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "done"
    assert [s.state for s in submissions(stack, case_no)] == [SubmissionState.APPLIED]
    other = await stack.call(
        "POST", url, "operator", json={"decision": "refer", "to": "某区局", "reason": "x"}
    )
    assert other.status_code == 409, other.text
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    completed = [e for e in events["events"] if e["type"] == "task_completed"]
    assert len(completed) == 1


async def test_a_different_decision_after_a_lost_answer_is_refused_once_the_first_lands(
    faulty: Faulty,
) -> None:
    stack = faulty.stack
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    url = f"/api/v1/tasks/{triage['id']}/complete"
    faulty.faults.armed = 1
    assert (await stack.call("POST", url, "operator", json=ACCEPT)).status_code == 503

    async def let_the_step_through() -> None:
        await asyncio.sleep(0.5)
        HeldSteps.release.set()

    refer = {"decision": "refer", "to": "某区市场监管局", "reason": "不属本局管辖"}
    changed, _ = await asyncio.gather(
        stack.call("POST", url, "operator", json=refer), let_the_step_through()
    )

    assert changed.status_code == 409, changed.text
    assert changed.json()["code"] == "decision.taken"
    case = await eventually(lambda: _status(stack, case_no, "handling"), timeout=15)
    assert case["unit"] == "guichi"


async def _status(stack: Stack, case_no: str, wanted: str) -> dict[str, Any] | None:
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    return case if case["status"] == wanted else None


async def verified(stack: Stack, case_no: str) -> dict[str, Any]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "auditor")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _triage_lost_after_its_step(faulty: Faulty) -> tuple[str, dict[str, Any], Submission]:
    """A case whose triage decision its step applied, though Temporal lost the update."""
    stack, faults = faulty.stack, faulty.faults
    HeldSteps.release.set()
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")

    # The clerk's decision is stored and sent; its step runs (a local activity, before
    # Temporal stores the update), then Temporal restarts and the update is gone.
    faults.armed, faults.deliver = 1, False
    lost = await stack.call(
        "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=ACCEPT
    )
    assert lost.status_code == 503, lost.text
    [decision] = submissions(stack, case_no)
    assert stack.service is not None
    await CaseActivities(stack.service).record_step(
        RecordStepInput(
            case_no=case_no,
            key="2:triage",  # the workflow's second step: the first came with the registration
            step="triage",
            task_id=triage["id"],
            submission_id=decision.id,
            mediation_ladder=True,
        )
    )
    # The case is ahead of its workflow: the task left the inbox, the workflow still
    # waits for it, and the audit sees the decision no workflow accepted.
    handle = stack.client.get_workflow_handle(workflow_id(case_no))
    assert (await handle.query("state"))["status"] == "triage"
    assert [(s.state, s.confirmed_at) for s in submissions(stack, case_no)] == [
        (SubmissionState.APPLIED, None)
    ]
    verdict = await verified(stack, case_no)
    assert verdict["ok"] is False and "2:triage" in verdict["reason"], verdict
    return case_no, triage, decision


async def test_the_clerk_sending_a_lost_decision_again_catches_the_workflow_up(
    faulty: Faulty,
) -> None:
    """The clerk answered 503 sends the same again, as the message says to: it is applied,
    at once, rather than refused as done while the workflow waits for the repair."""
    stack = faulty.stack
    case_no, triage, decision = await _triage_lost_after_its_step(faulty)
    url = f"/api/v1/tasks/{triage['id']}/complete"

    # Another decision than the one applied is refused: the task is done.
    other = {"decision": "accept", "unit": "dongzhi"}
    refused = await stack.call("POST", url, "operator", json=other)
    assert refused.status_code == 409 and refused.json()["code"] == "task.done", refused.text

    again = await stack.call("POST", url, "operator", json=ACCEPT)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "done" and again.json()["result"] == ACCEPT
    handle = stack.client.get_workflow_handle(workflow_id(case_no))
    assert (await handle.query("state"))["status"] == "handling"
    [sent] = submissions(stack, case_no)
    assert sent.id == decision.id and sent.confirmed_at is not None
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    assert [e["type"] for e in history["events"]].count("task_completed") == 1
    assert (await verified(stack, case_no))["ok"] is True
    # Nothing left for the repair; the case goes on in guichi's inbox.
    db = DatabaseRunner(stack.engine)
    soon = stack.settings.model_copy(update={"decision_repair_after_seconds": 0.001})
    assert await repair.confirm_decisions(db=db, client=stack.client, settings=soon) == []
    await open_task(stack, case_no, "handle", "guichi")


async def test_a_decision_applied_by_its_step_but_lost_by_temporal_is_sent_again_by_the_api(
    faulty: Faulty,
) -> None:
    stack = faulty.stack
    case_no, triage, decision = await _triage_lost_after_its_step(faulty)

    # Not yet due: the repair leaves a decision alone for decision_repair_after_seconds.
    db = DatabaseRunner(stack.engine)
    assert await repair.confirm_decisions(db=db, client=stack.client, settings=stack.settings) == []
    soon = stack.settings.model_copy(update={"decision_repair_after_seconds": 0.001})
    assert await repair.confirm_decisions(db=db, client=stack.client, settings=soon) == [
        decision.id
    ]

    # The workflow took the decision again; its step, under the same key, changed nothing.
    handle_task = await open_task(stack, case_no, "handle", "guichi")
    [again] = submissions(stack, case_no)
    assert again.state == SubmissionState.APPLIED and again.confirmed_at is not None
    assert await repair.confirm_decisions(db=db, client=stack.client, settings=soon) == []
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    assert [e["type"] for e in history["events"]].count("task_completed") == 1
    assert (await verified(stack, case_no))["ok"] is True

    # And the case goes on; a decision answered as usual is confirmed by its own request.
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{handle_task['id']}/complete",
        "guichi",
        json={"outcome": "agreement", "summary": "商家同意退货", "reply": "已退货退款"},
    )
    assert done.status_code == 200, done.text

    async def confirmed() -> bool:  # written just after the answer
        return all(s.confirmed_at is not None for s in submissions(stack, case_no))

    await eventually(confirmed)
    assert len(submissions(stack, case_no)) == 2
