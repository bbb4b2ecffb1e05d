"""A registration whose workflow never started is finished by the client's retry, or,
when no retry comes, by the API itself."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import select
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.casefile.models import PendingStart, StepRecord
from api.cases import registration
from api.cases import service as cases
from api.cases.models import CaseCreate
from api.cases.repair import finish_registrations
from api.db import Database
from api.internal import engine
from api.rules.service import rules_in_force
from api.supervision.models import FigureDay
from api.users import service as users
from tests.conftest import Database as StackDatabase
from tests.conftest import Stack, open_task, running_stack, step_summaries
from tests.factories import complaint
from tests.mediation import done
from workflows.case import workflow_id


async def test_retrying_with_the_same_client_ref_starts_the_missing_workflow(stack: Stack) -> None:
    body = complaint(client_ref="hotline-call-0001")
    with stack.db() as session:
        # What a crash between saving the case and starting its workflow leaves behind.
        operator = users.get_by_username(session=session, username="operator")
        assert operator is not None
        case = cases.register(
            session=session,
            rules=rules_in_force(session=session, settings=stack.settings),
            user=operator,
            body=CaseCreate.model_validate(body),
            prefix=stack.settings.case_no_prefix,
        )
        case_no = case.case_no

    retried = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert retried.status_code == 200, retried.text
    assert retried.json()["case_no"] == case_no

    triage = await open_task(stack, case_no, "triage", "operator")
    assert triage["case_no"] == case_no
    again = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert again.status_code == 200 and again.json()["status"] == "triage"


async def test_a_registration_nobody_sends_again_is_finished_by_the_api(stack: Stack) -> None:
    with stack.db() as session:
        # Saved, then the API crashed (or Temporal never confirmed), and the client gave up.
        operator = users.get_by_username(session=session, username="operator")
        assert operator is not None
        case_no = cases.register(
            session=session,
            rules=rules_in_force(session=session, settings=stack.settings),
            user=operator,
            body=CaseCreate.model_validate(complaint()),
            prefix=stack.settings.case_no_prefix,
        ).case_no
    db = Database(stack.engine)

    # A registration a moment old may still be finishing: left alone.
    assert await finish_registrations(db=db, client=stack.client, settings=stack.settings) == []
    later = stack.settings.model_copy(update={"registration_repair_after_seconds": 0.001})
    await asyncio.sleep(0.01)
    assert await finish_registrations(db=db, client=stack.client, settings=later) == [case_no]

    triage = await open_task(stack, case_no, "triage", "operator")
    assert triage["case_no"] == case_no
    # Once its workflow runs it is no longer "registered": nothing more to do.
    assert await finish_registrations(db=db, client=stack.client, settings=later) == []
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history", "operator")
    assert [e["type"] for e in response.json()["events"]].count("registered") == 1


ACCEPT = {"decision": "accept", "unit": "guichi"}


def _registered_with_first_step(stack: Stack, body: dict[str, object]) -> str:
    """What a crash between saving a case with its first step and starting its workflow
    leaves behind (or a start Temporal never confirmed)."""
    with stack.db() as session:
        operator = users.get_by_username(session=session, username="operator")
        assert operator is not None
        registered = registration.register(
            session=session,
            settings=stack.settings,
            user=operator,
            body=CaseCreate.model_validate(body),
            steps=engine,
        )
    return registered.case_no


async def _steps_recorded_by(stack: Stack, case_no: str) -> list[str]:
    history = await stack.client.get_workflow_handle(workflow_id(case_no)).fetch_history()
    return step_summaries(history)


async def test_a_case_is_registered_with_its_first_step_and_its_workflow_starts_from_it(
    stack: Stack,
) -> None:
    created = await stack.call("POST", "/api/v1/cases", "operator", json=complaint())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "triage"
    case_no = created.json()["case_no"]
    # In the inbox the moment the registration is answered: no waiting for the workflow.
    listed = await stack.call(
        "GET", "/api/v1/tasks", "operator", params={"case_no": case_no, "status": "open"}
    )
    assert [t["kind"] for t in listed.json()["data"]] == ["triage"]
    with stack.db() as session:
        assert session.get(PendingStart, case_no) is None  # Temporal confirmed the start

    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    # The workflow took the registration's first step from its input: it recorded none.
    assert await _steps_recorded_by(stack, case_no) == ["triage"]
    verified = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "auditor")
    assert verified.json()["ok"] is True, verified.json()


async def test_a_pending_start_is_finished_by_the_retry_from_the_first_step(stack: Stack) -> None:
    body = complaint(client_ref="hotline-call-0002")
    case_no = _registered_with_first_step(stack, body)
    # The triage task is in the inbox already, but no workflow runs to apply it.
    await open_task(stack, case_no, "triage", "operator")

    retried = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert retried.status_code == 200, retried.text
    assert retried.json()["case_no"] == case_no
    with stack.db() as session:
        assert session.get(PendingStart, case_no) is None
    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    assert await _steps_recorded_by(stack, case_no) == ["triage"]


async def test_a_pending_start_nobody_sends_again_is_finished_by_the_api(stack: Stack) -> None:
    case_no = _registered_with_first_step(stack, complaint())
    db = Database(stack.engine)
    # A registration a moment old is still being started by its own request: left alone.
    assert await finish_registrations(db=db, client=stack.client, settings=stack.settings) == []
    later = stack.settings.model_copy(update={"registration_repair_after_seconds": 0.001})
    await asyncio.sleep(0.01)
    assert await finish_registrations(db=db, client=stack.client, settings=later) == [case_no]
    with stack.db() as session:
        assert session.get(PendingStart, case_no) is None
    assert await finish_registrations(db=db, client=stack.client, settings=later) == []

    await done(stack, case_no, "triage", "operator", ACCEPT)
    assert await _steps_recorded_by(stack, case_no) == ["triage"]
    verified = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "auditor")
    assert verified.json()["ok"] is True, verified.json()


async def test_a_decision_on_a_case_whose_workflow_has_not_started_starts_it(
    stack: Stack,
) -> None:
    """The registration is answered before its workflow starts: a clerk quicker than the
    start (or one whose case Temporal did not take at first) is not turned away."""
    case_no = _registered_with_first_step(stack, complaint())
    triage = await open_task(stack, case_no, "triage", "operator")
    early = await stack.call(
        "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=ACCEPT
    )
    assert early.status_code == 200, early.text
    assert early.json()["status"] == "done"
    with stack.db() as session:
        assert session.get(PendingStart, case_no) is None
    case = await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")
    assert case.json()["status"] == "handling" and case.json()["unit"] == "guichi"
    # Started from the registration's first step, then the decision: each step once.
    assert await _steps_recorded_by(stack, case_no) == ["triage"]
    verified = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "auditor")
    assert verified.json()["ok"] is True, verified.json()


class RefuseStarts(Interceptor):
    """The API's Temporal client, whose workflow starts never reach the server (which then
    certainly has no such workflow)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _NoStart(next)


class _NoStart(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        raise RPCError("connection refused (injected)", RPCStatusCode.UNAVAILABLE, b"")


@pytest_asyncio.fixture
async def refusing(database: StackDatabase, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    api_client = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        interceptors=[RefuseStarts()],
    )
    async with running_stack(database, dev_env.client, api_client=api_client) as stack:
        yield stack


def _rollup(stack: Stack) -> dict[tuple[str, str], int]:
    with stack.db() as session:
        return {
            (row.unit, row.figure): row.value
            for row in session.exec(select(FigureDay)).all()
            if row.value
        }


@pytest.mark.parametrize("user", ["operator", "st-wanda"])
async def test_a_registration_temporal_does_not_take_is_kept_and_its_workflow_started_later(
    refusing: Stack, dev_env: WorkflowEnvironment, user: str
) -> None:
    """A complaint taken on the phone is not lost because the workflow service is away: it
    is registered with its first step (the triage task, or at a station the reconciliation
    with its rung), and its workflow starts once Temporal takes it."""
    channel = "station" if user == "st-wanda" else "hotline"
    created = await refusing.call(
        "POST", "/api/v1/cases", user, json=complaint(channel=channel, client_ref=f"ref-{user}")
    )
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    with refusing.db() as session:
        assert session.get(PendingStart, case_no) is not None
        assert session.exec(select(StepRecord).where(StepRecord.case_no == case_no)).all()
    before = _rollup(refusing)

    # Still away: a decision on it cannot start it either, and says so.
    if user == "operator":
        triage = await open_task(refusing, case_no, "triage", "operator")
        early = await refusing.call(
            "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=ACCEPT
        )
        assert early.status_code == 503, early.text
        assert early.json()["code"] == "case.start_pending"

    # Temporal back: the repair starts it, from the registration's first step.
    later = refusing.settings.model_copy(update={"registration_repair_after_seconds": 0.001})
    await asyncio.sleep(0.01)
    db = Database(refusing.engine)
    assert await finish_registrations(db=db, client=dev_env.client, settings=later) == [case_no]
    with refusing.db() as session:
        assert session.get(PendingStart, case_no) is None
    described = await dev_env.client.get_workflow_handle(workflow_id(case_no)).describe()
    assert described.status is not None and described.status.name == "RUNNING"
    assert _rollup(refusing) == before  # counted once, when it was registered
