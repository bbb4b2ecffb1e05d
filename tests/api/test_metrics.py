"""What Prometheus reads (issue 14, "a production that can be watched"): the API's
``/metrics`` with each route's request durations, each step's duration and statements, the
open tasks by kind and unit and the overdue deadlines; the worker's Temporal SDK metrics at
its runtime's endpoint. Counts and durations only: no case number in any of it."""

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client import multiprocess
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api import metrics
from api.casefile.lifecycle import CaseKind
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.main import prepare_database
from api.supervision import service as supervision
from api.temporal import metrics_runtime
from api.workdays import ZONE, WorkingCalendar
from tests import mediation
from tests.api.test_lists import a_case, plans
from tests.conftest import Database, Stack, open_task, register, running_stack
from tests.factories import eventually

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(stack: Stack, **headers: str) -> httpx.Response:
    return await stack.api.get("/metrics", headers=headers)


@SQLITE_ONLY
async def test_the_metrics_count_requests_steps_and_the_work_open_and_late(stack: Stack) -> None:
    before = samples((await scrape(stack)).text)
    late = (datetime.now(ZONE) - timedelta(days=30)).isoformat()
    case_no = await mediation.accepted(stack, received_at=late)  # triage was overdue
    await open_task(stack, case_no, "handle", "guichi")

    answer = await scrape(stack)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    after = samples(answer.text)
    posted = {"method": "POST", "route": "/api/v1/cases", "status": "201"}
    name = "weiquan_http_request_duration_seconds_count"
    assert value(after, name, **posted) == value(before, name, **posted) + 1
    completed = {"method": "POST", "route": "/api/v1/tasks/{task_id}/complete", "status": "200"}
    assert value(after, name, **completed) >= value(before, name, **completed) + 1
    for step in ("open_triage", "triage"):
        count = "weiquan_step_duration_seconds_count"
        assert value(after, count, step=step) >= value(before, count, step=step) + 1
        statements = "weiquan_step_statements_sum"
        ran = value(after, statements, step=step) - value(before, statements, step=step)
        assert ran > 5, f"{step} ran {ran} statements"
    assert value(after, "weiquan_open_tasks", kind="handle", unit="guichi") >= 1
    assert value(after, "weiquan_open_tasks", kind="triage", unit="centre") == value(
        before, "weiquan_open_tasks", kind="triage", unit="centre"
    )

    async def overdue() -> float | None:
        found = samples((await scrape(stack)).text)
        late = [v for k, v in found.items() if k[0] == "weiquan_overdue_deadlines"]
        return sum(late) if sum(late) >= 1 else None

    left = await register(stack, received_at=late)  # left in triage: overdue, and counted
    assert await eventually(overdue, timeout=30, interval=0.5) >= 1
    assert left not in (await scrape(stack)).text
    assert case_no not in answer.text  # no case number, only route templates


NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def a_deadline(name: str, *, met_at: datetime | None, policy: DeadlinePolicy) -> Deadline:
    """A deadline of case TS1 at 贵池分局 that fell due three days before NOW."""
    return Deadline(
        case_no="TS1",
        name=name,
        unit="guichi",
        policy=policy,
        started_on=date(2026, 10, 1),
        working_days=45,
        due_date=date(2026, 11, 26),
        due_at=NOW - timedelta(days=3),
        state=DeadlineState.OVERDUE,
        overdue_at=NOW - timedelta(days=3),
        met_at=met_at,
        rule_set="samr-order-121",
    )


def overdue_gauge(session: Session) -> dict[Any, float]:
    found = samples(metrics.exposition(session).decode())
    return {k: v for k, v in found.items() if k[0] == "weiquan_overdue_deadlines"}


def test_the_overdue_gauge_counts_what_the_overdue_list_counts(database: Database) -> None:
    """A deadline met late keeps its state, overdue: the gauge counted it, and every
    deadline ever missed, scrape after scrape, where the list shows the open ones only. A
    court's time that lapsed (watched, nobody chased) is on neither."""
    prepare_database(database.engine, database.settings)
    with Session(database.engine) as session:
        session.add(a_case("TS1", unit="guichi", received=NOW, kind=CaseKind.COMPLAINT))
        session.flush()
        session.add(a_deadline("handle", met_at=None, policy=DeadlinePolicy.SUPERVISE))
        session.add(a_deadline("triage", met_at=NOW, policy=DeadlinePolicy.SUPERVISE))
        session.add(a_deadline("court_ruling", met_at=None, policy=DeadlinePolicy.WATCH))
        session.commit()

    with Session(database.engine) as session:
        gauge = overdue_gauge(session)
        listed = supervision.overdue(
            session=session,
            calendar=WorkingCalendar(),
            unit=None,
            today=date(2026, 11, 30),
            limit=100,
            offset=0,
        )
    handle = {"deadline": "handle", "unit": "guichi"}
    assert gauge == {("weiquan_overdue_deadlines", frozenset(handle.items())): 1}
    assert [(row.kind, row.unit) for row in listed.data] == [("handle", "guichi")]
    assert sum(gauge.values()) == listed.count == 1


def test_on_sqlite_the_overdue_gauge_reads_the_open_deadlines_only(
    sqlite_database: Database,
) -> None:
    """From the partial index the overdue list reads, not every deadline ever missed."""
    prepare_database(sqlite_database.engine, sqlite_database.settings)
    with plans(sqlite_database.engine) as lines, Session(sqlite_database.engine) as session:
        overdue_gauge(session)
    read = [line for line in lines if "deadline" in line]
    assert read and all("ix_deadline_open_state_met_unit_due" in line for line in read), lines


async def test_a_metrics_token_keeps_the_metrics_for_its_bearer(
    sqlite_database: Database, dev_env: WorkflowEnvironment
) -> None:
    settings = sqlite_database.settings.model_copy(update={"metrics_token": "scrape-token-123456"})
    async with running_stack(sqlite_database, dev_env.client, settings=settings) as stack:
        assert (await scrape(stack)).status_code == 403
        wrong = await scrape(stack, authorization="Bearer scrape-token-000000")
        assert wrong.status_code == 403 and wrong.json()["code"] == "auth.metrics"
        right = await scrape(stack, authorization="Bearer scrape-token-123456")
        assert right.status_code == 200 and "weiquan_open_tasks" in right.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture
async def watched_client(dev_env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, str]]:
    address = f"127.0.0.1:{_free_port()}"
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        runtime=metrics_runtime(address),
    )
    yield client, address


# The steps run as local activities (workflows/case.py, LOCAL_STEPS_PATCH).
LOCAL_ACTIVITY_LATENCY = "temporal_local_activity_execution_latency"


async def test_the_worker_serves_the_temporal_sdk_metrics(
    sqlite_database: Database, watched_client: tuple[Client, str]
) -> None:
    client, address = watched_client
    async with running_stack(sqlite_database, client) as stack:
        case_no = await register(stack)
        triage = await open_task(stack, case_no, "triage", "operator")
        accept = {"decision": "accept", "unit": "guichi"}  # a step: a local activity runs
        done = await stack.call(
            "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=accept
        )
        assert done.status_code == 200, done.text

        async def scraped() -> dict[Any, float] | None:
            async with httpx.AsyncClient() as http:
                found = samples((await http.get(f"http://{address}/metrics")).text)
            ran = [k for k in found if k[0].startswith(LOCAL_ACTIVITY_LATENCY)]
            return found if ran else None

        found = await eventually(scraped)
        names = {name for name, _ in found}
        assert any(n.startswith("temporal_workflow_task_execution_latency") for n in names)
        assert any(n.startswith("temporal_sticky_cache") for n in names), sorted(names)[:40]


# An API process that serves, applies ``triage`` N times and exits (its figures stay in
# the shared directory, as a process's do after it died).
SERVE_AND_STEP = """
import os, sys
from api import metrics
metrics.serving()
for _ in range(int(sys.argv[1])):
    with metrics.step("triage"):
        pass
print(os.getpid())
"""


def _serve_and_step(shared: Path, steps: int) -> int:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    argv = [sys.executable, "-c", SERVE_AND_STEP, str(steps)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return int(done.stdout)


@SQLITE_ONLY
async def test_one_scrape_sums_the_api_processes_that_share_the_port(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several API processes on one port (the launcher names a directory in
    PROMETHEUS_MULTIPROC_DIR), whichever process answers the scrape gives the sum of
    all their figures, and counts the processes alive."""
    shared = tmp_path / "api-metrics"
    shared.mkdir()
    pids = [await asyncio.to_thread(_serve_and_step, shared, steps) for steps in (2, 3)]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))

    text = (await scrape(stack)).text
    found = samples(text)
    assert value(found, "weiquan_step_duration_seconds_count", step="triage") == 5
    assert value(found, "weiquan_step_statements_count", step="triage") == 5
    assert value(found, "weiquan_api_processes") == 2
    assert "# TYPE weiquan_open_tasks gauge" in text  # from the database, once a scrape

    # The launcher marks a dead process: it no longer serves, but what it counted stays
    # counted (a counter never goes back).
    multiprocess.mark_process_dead(pids[0], str(shared))
    found = samples((await scrape(stack)).text)
    assert value(found, "weiquan_api_processes") == 1
    assert value(found, "weiquan_step_duration_seconds_count", step="triage") == 5


@SQLITE_ONLY
async def test_one_process_alone_counts_itself_and_shows_its_cpu(stack: Stack) -> None:
    found = samples((await scrape(stack)).text)
    assert value(found, "weiquan_api_processes") == 1
    assert value(found, "process_cpu_seconds_total") > 0
