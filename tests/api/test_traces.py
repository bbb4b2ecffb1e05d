"""Traces (issue 14, "Traces"): a clerk's decision is one trace, from the HTTP request
through the workflow's update and the activity that applies it to the step the API
records; no span carries what the case was registered with, nor the query string; and
with tracing off nothing of it is installed."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from api import tracing
from api.main import create_app
from api.temporal import TemporalConnection
from tests.api.conftest import lines
from tests.conftest import Database, Stack, open_task, register, running_stack
from tests.factories import complaint, eventually
from worker import WORKFLOWS
from workflows.complaint import workflow_id

COMPLETE = "POST /api/v1/tasks/{task_id}/complete"
STEP = "POST /internal/v1/cases/{case_no}/steps"
ACCEPT = {"decision": "accept", "unit": "guichi"}


@dataclass
class Traced:
    stack: Stack
    traces: tracing.Tracing
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        """Every span ended so far, as it left the process."""
        self.traces.provider.force_flush()
        return list(self.exporter.get_finished_spans())


@pytest_asyncio.fixture
async def traced(sqlite_database: Database, dev_env: WorkflowEnvironment) -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    traces = tracing.start(sqlite_database.settings, "api", exporter)
    assert traces is not None
    async with running_stack(sqlite_database, dev_env.client, traces=traces) as stack:
        yield Traced(stack, traces, exporter)
    traces.shutdown()


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{len(found)} spans {name}: {sorted({s.name for s in spans})}"
    return found[0]


def lineage(spans: list[ReadableSpan], span: ReadableSpan) -> list[ReadableSpan]:
    """The span and its ancestors, the root last."""
    by_id = {s.context.span_id: s for s in spans if s.context}
    chain = [span]
    while chain[-1].parent is not None:
        chain.append(by_id[chain[-1].parent.span_id])
    return chain


async def test_a_decision_is_one_trace_from_the_request_through_the_update_to_the_step(
    traced: Traced,
) -> None:
    stack = traced.stack
    case_no = await register(stack)
    task = await open_task(stack, case_no, "triage", "operator")
    answer = await stack.call(
        "POST", f"/api/v1/tasks/{task['id']}/complete", "operator", json=ACCEPT
    )
    assert answer.status_code == 200, answer.text

    spans = traced.spans()
    step = named(spans, "step triage")
    chain = lineage(spans, step)
    assert [s.name for s in chain] == [
        "step triage",  # the API applies the step
        STEP,  # the activity's call, received by the API
        "RunActivity:record_step",  # the worker runs the activity
        "StartActivity:record_step",  # the workflow schedules it …
        "HandleUpdate:triage",  # … to apply the update
        "StartWorkflowUpdate:triage",  # the API's client sends the update
        COMPLETE,  # the clerk's request
    ]
    assert len({s.context.trace_id for s in chain if s.context}) == 1
    request, update, run = chain[-1], chain[-2], chain[2]
    assert request.kind == SpanKind.SERVER and request.parent is None
    assert request.attributes == {
        "http.request.method": "POST",
        "http.route": "/api/v1/tasks/{task_id}/complete",
        "http.response.status_code": 200,
    }
    assert update.attributes == {"temporalWorkflowID": workflow_id(case_no)}
    assert run.attributes and run.attributes["temporalWorkflowID"] == workflow_id(case_no)
    assert step.attributes == {"weiquan.step": "triage", "weiquan.case_no": case_no}
    assert chain[1].attributes and chain[1].attributes["weiquan.case_no"] == case_no
    # the update's validator, and the mediation the accepted complaint starts, in the same
    # trace (not in the registration's, where the workflow started)
    validated = named(spans, "ValidateUpdate:triage")
    assert validated.parent and update.context
    assert validated.parent.span_id == update.context.span_id

    async def mediation_runs() -> list[ReadableSpan]:  # its first workflow task, after the update
        return [s for s in traced.spans() if s.name == "RunWorkflow:MediationWorkflow"]

    await eventually(mediation_runs)
    spans = traced.spans()
    mediation = named(spans, "RunWorkflow:MediationWorkflow")
    assert [s.name for s in lineage(spans, mediation)[:3]] == [
        "RunWorkflow:MediationWorkflow",
        "StartChildWorkflow:MediationWorkflow",
        "HandleUpdate:triage",
    ]

    # Recorded with its spans' headers, the history replays with tracing and without.
    history = await stack.client.get_workflow_handle(workflow_id(case_no)).fetch_history()
    for interceptors in ([traced.traces.interceptor()], []):
        replayed = await Replayer(
            workflows=WORKFLOWS, data_converter=pydantic_data_converter, interceptors=interceptors
        ).replay_workflow(history, raise_on_replay_failure=True)
        assert replayed.replay_failure is None


def _text(value: Any) -> str:
    """Every string a span holds, as it would be read (JSON with the characters as such)."""
    return json.dumps(value, ensure_ascii=False)


async def test_a_requests_log_lines_carry_its_trace_id(
    traced: Traced, capsys: pytest.CaptureFixture[str], json_logs: None
) -> None:
    stack = traced.stack
    case_no = await register(stack)
    answer = await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")
    assert answer.status_code == 200
    [line] = [
        line
        for line in lines(capsys.readouterr().err)
        if line.get("request_id") == answer.headers["x-request-id"]
    ]
    span = named(traced.spans(), "GET /api/v1/cases/{case_no}")
    assert span.context and line["trace_id"] == format(span.context.trace_id, "032x")


async def test_no_span_carries_personal_data_nor_a_query_string_nor_a_path(traced: Traced) -> None:
    stack = traced.stack
    registered = complaint(
        complainant={
            "name": "欧阳春燕",
            "phone": "13956781234",
            "id_number": "34170219800101002X",
            "address": "秋浦西路88号3栋",
        },
    )
    case_no = await register(stack, **registered)
    task = await open_task(stack, case_no, "triage", "operator")
    accepted = await stack.call(
        "POST", f"/api/v1/tasks/{task['id']}/complete", "operator", json=ACCEPT
    )
    searched = await stack.call("GET", "/api/v1/cases", "operator", params={"q": "13956781234"})
    typed = await stack.call("GET", "/api/v1/cases/欧阳春燕", "operator")
    assert (accepted.status_code, searched.status_code, typed.status_code) == (200, 200, 404)

    spans = traced.spans()
    personal = [
        "欧阳春燕",
        "13956781234",
        "34170219800101002X",
        "秋浦西路88号3栋",
        registered["respondent"]["name"],
        registered["respondent"]["address"],
        registered["description"],
        registered["claim"],
    ]
    for span in spans:
        held = _text(json.loads(span.to_json()))
        assert not [p for p in personal if p in held], held
    names = {s.name for s in spans if s.kind == SpanKind.SERVER and "/" in s.name}
    assert {"GET /api/v1/cases", "GET /api/v1/cases/{case_no}", COMPLETE} <= names
    read = named(spans, "GET /api/v1/cases/{case_no}")
    assert read.attributes and "weiquan.case_no" not in read.attributes  # 404: not a case number
    assert not [s for s in spans if s.attributes and set(s.attributes) - tracing.SPAN_ATTRIBUTES]


async def test_a_public_request_starts_its_own_trace_the_workers_call_continues_one(
    traced: Traced,
) -> None:
    stack = traced.stack
    given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await stack.api.get("/api/v1/units", headers={"traceparent": given})
    await stack.service.get("/internal/v1/nothing-here", headers={"traceparent": given})  # type: ignore[union-attr]
    spans = traced.spans()
    public = named(spans, "GET /api/v1/units")
    internal = named(spans, "GET unmatched")
    assert public.parent is None and public.context
    assert public.context.trace_id != int("0af7651916cd43dd8448eb211c80319c", 16)
    assert internal.parent and internal.parent.span_id == int("b7ad6b7169203331", 16)
    # the probes are not traced
    await stack.api.get("/healthz")
    assert not [s for s in traced.spans() if "healthz" in s.name]


async def test_off_nothing_is_installed(sqlite_database: Database) -> None:
    assert not sqlite_database.settings.tracing
    app = create_app(sqlite_database.settings, engine=sqlite_database.engine)
    assert app.state.tracing is None
    assert not [m for m in app.user_middleware if m.cls is tracing.RequestSpans]
    assert isinstance(app.state.temporal, TemporalConnection)
    assert app.state.temporal._tracing is None
