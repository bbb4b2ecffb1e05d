"""What the API tells Prometheus (``GET /metrics``): each route's request durations, each
step's duration and SQL statements, and, read from the database at each scrape, the open
tasks by kind and unit and the overdue deadlines by name and unit. Counts and durations
only: no case number, no name, nothing a person typed.

Several API processes on one port (the embedded launcher's ``WEIQUAN_API_PROCESSES``) each
keep their figures in a file of the directory ``PROMETHEUS_MULTIPROC_DIR`` names
(prometheus-client's multiprocess mode, chosen by that variable when the process starts),
and whichever process answers a scrape sums them all: a scrape sees the API, not one
process at random. The workload is read from the database they share, once a scrape.

The worker's own figures (the Temporal SDK's) are its runtime's endpoint
(``WEIQUAN_WORKER_METRICS_ADDRESS``, ``worker.py``)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.types import Scope

from api.deadlines.models import Deadline, DeadlineState
from api.deadlines.service import open_where
from api.tasks.models import Task, TaskStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Histogram(
    "weiquan_http_request_duration_seconds",
    "Time from a request's arrival to its response's end, by route (its template, never the"
    " path: no case number) and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STEP_SECONDS = Histogram(
    "weiquan_step_duration_seconds",
    "Time the API takes to apply a workflow step (record_step), by step.",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
STEP_STATEMENTS = Histogram(
    "weiquan_step_statements",
    "SQL statements a workflow step runs, by step.",
    ["step"],
    buckets=(5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 250),
)

PROCESSES = Gauge(
    "weiquan_api_processes",
    "API processes serving: each counts 1, and a scrape sums those alive among the processes"
    " that share the port.",
    multiprocess_mode="livesum",
)

_counting: ContextVar[list[int] | None] = ContextVar("weiquan_statements", default=None)


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_: Any) -> None:
    found = _counting.get()
    if found is not None:
        found[0] += 1


@contextmanager
def statements() -> Iterator[list[int]]:
    """Counts the SQL statements run in this context (this thread's database work)."""
    found = [0]
    token = _counting.set(found)
    try:
        yield found
    finally:
        _counting.reset(token)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Times one step and counts its statements, whether it is applied or refused."""
    started = perf_counter()
    with statements() as found:
        try:
            yield
        finally:
            STEP_SECONDS.labels(name).observe(perf_counter() - started)
            STEP_STATEMENTS.labels(name).observe(found[0])


def template(scope: Scope) -> str:
    """The matched route's path template with the prefix it was included under
    (``/api/v1`` + ``/tasks/{task_id}/complete``): the route knows only its own part, and
    the prefix is what the path holds before as many segments as that part has."""
    inner = getattr(scope.get("route"), "path", None)
    if not inner:
        return "unmatched"
    path = scope["path"].rstrip("/")
    depth = inner.rstrip("/").count("/")
    parts = path.split("/")
    prefix = "/".join(parts[: len(parts) - depth]) if depth else path
    return f"{prefix}{inner}"


class _Workload(Collector):
    """The open tasks and the overdue deadlines, read now."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[GaugeMetricFamily]:
        tasks = GaugeMetricFamily(
            "weiquan_open_tasks",
            "Tasks open or claimed, by kind and unit.",
            labels=["kind", "unit"],
        )
        for kind, unit, count in self.session.exec(
            select(Task.kind, Task.unit, func.count())
            .where(col(Task.status).in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
            .group_by(col(Task.kind), col(Task.unit))
        ).all():
            tasks.add_metric([str(kind), unit], count)
        yield tasks
        overdue = GaugeMetricFamily(
            "weiquan_overdue_deadlines",
            "Deadlines open and past their time (the overdue list's), by deadline and unit.",
            labels=["deadline", "unit"],
        )
        # Open ones only: a deadline met late keeps its state, and the missed deadlines of
        # every year kept are many more than the open ones the partial index holds.
        for name, holder, late in self.session.exec(
            select(Deadline.name, Deadline.unit, func.count())
            .where(*open_where(DeadlineState.OVERDUE))
            .group_by(col(Deadline.name), col(Deadline.unit))
        ).all():
            overdue.add_metric([name, holder or ""], late)
        yield overdue


def serving() -> None:
    """Counts this process among the API processes serving (its app built)."""
    PROCESSES.set(1)


def _processes() -> CollectorRegistry:
    """This process's figures; with several processes on the port, the sum of theirs.

    prometheus-client's own variable, read where it reads it: its process-wide figures
    (``process_*``, ``python_*``) have no sum and are left out then.
    """
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not shared:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, shared)  # type: ignore[no-untyped-call]
    return registry


def exposition(session: Session) -> bytes:
    """The API's metrics, then the workload's, in Prometheus' text format."""
    workload = CollectorRegistry(auto_describe=False)
    workload.register(_Workload(session))
    return generate_latest(_processes()) + generate_latest(workload)
