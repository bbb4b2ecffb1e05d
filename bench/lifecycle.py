"""Complaint lifecycles per second through the real embedded stack, over HTTP only.

Starts ``scripts/run_embedded.py`` (Temporal dev server, worker, API: what ``make run``
starts) headless in a new temporary data dir on free ports, drives N complaints from
``POST /cases`` to ``closed`` (triage accept → handling agreement → callback reached) with
C lifecycles in flight, prints the figures, checks that every case is closed, and stops
the stack with SIGINT.

    .venv/bin/python bench/lifecycle.py [--cases 60] [--concurrency 8] [--keep]
    .venv/bin/python bench/lifecycle.py --workers 2 --api-processes 2 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/lifecycle.py --traces

With ``--traces`` the API and the worker export their spans over OTLP/HTTP to a sink the
bench serves on 127.0.0.1 (it counts them and answers 200, as a collector would), so the
CPU they use includes making, redacting, encoding and sending every span.

With ``--postgres`` the application's database is a new schema on that server
(``bench_life_<hex>``, dropped afterwards), and the CPU of the server's backends that
serve it is counted too.

It prints figures and asserts no timings: the exit status is 0 when every case ended
``closed`` and the stack started and stopped cleanly, 1 otherwise (130 on Ctrl+C). Every
wait is bounded and every request goes to 127.0.0.1. See bench/README.md for the options
and measured figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.ports import stable_free_port  # noqa: E402
from tests.factories import complaint  # noqa: E402

HOST = "127.0.0.1"
API = "/api/v1"
HEALTHY_TIMEOUT = 90.0  # launcher start → GET /healthz answers 200
STOP_TIMEOUT = 60.0  # SIGINT → launcher exited (it gives its children 10 + 30 + 15 s)
TASK_TIMEOUT = 60.0  # one poll loop for an open task
REQUEST_TIMEOUT = 60.0  # one HTTP request (an update waits up to 30 s in the API)
HISTORY_TIMEOUT = 15.0  # waiting for the sampled workflow to complete

TRIAGE = {"decision": "accept", "unit": "guichi"}
HANDLE = {
    "outcome": "agreement",
    "summary": "商家同意退货退款",
    "amount_recovered": 0,
    "reply": "经调解双方达成协议，商家退货退款",
}
CALLBACK = {"reached": True, "satisfaction": "satisfied"}


class BenchError(Exception):
    """Something the run cannot carry on from; the message says what."""


# -- the stack ------------------------------------------------------------------------------


def free_port() -> int:
    return stable_free_port(HOST)


class Stack:
    """scripts/run_embedded.py in its own data dir, on free ports, headless."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.temporal_port = free_port()
        # Only our own WEIQUAN_* settings: a database URL or Temporal address from the
        # caller's shell must not point the bench at anything but its own fresh stack.
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEIQUAN_")}
        env.update(
            WEIQUAN_DATA_DIR=str(data_dir),
            WEIQUAN_API_HOST=HOST,
            WEIQUAN_API_PORT=str(self.api_port),
            WEIQUAN_TEMPORAL_PORT=str(self.temporal_port),
            WEIQUAN_TEMPORAL_UI_PORT=str(free_port()),
            WEIQUAN_TEMPORAL_HEADLESS="1",
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.base = f"http://{HOST}:{self.api_port}"
        self.address = f"{HOST}:{self.temporal_port}"
        self.out_path = data_dir / "launcher.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        began = time.monotonic()
        with self.out_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "scripts/run_embedded.py"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while time.monotonic() - began < HEALTHY_TIMEOUT:
                if self.proc.poll() is not None:
                    raise BenchError(f"the launcher exited ({self.proc.returncode}):\n{self.out()}")
                try:
                    if http.get(f"{self.base}/healthz").status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise BenchError(f"not healthy within {HEALTHY_TIMEOUT:.0f} s:\n{self.out()}")

    def stop(self) -> int | None:
        """SIGINT, as Ctrl+C on `make run`; returns the launcher's exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"the launcher did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                proc.kill()
                proc.wait()
        return proc.returncode

    def out(self) -> str:
        try:
            return self.out_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no launcher output)"


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    """SIGINT to a helper process the bench started (the skeleton's worker, the bare app),
    killed if it has not exited within ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class TraceSink:
    """An OTLP/HTTP trace receiver on 127.0.0.1 that counts what it is sent and keeps
    nothing: the collector the API and the worker export to with ``--traces``."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        sink = self
        self.spans: dict[str, int] = {}  # by service
        self.requests = self.bytes = 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest.FromString(body)
                with sink._lock:
                    for each in request.resource_spans:
                        service = next(
                            (
                                a.value.string_value
                                for a in each.resource.attributes
                                if a.key == "service.name"
                            ),
                            "?",
                        )
                        count = sum(len(scope.spans) for scope in each.scope_spans)
                        sink.spans[service] = sink.spans.get(service, 0) + count
                    sink.requests += 1
                    sink.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def settings(self) -> dict[str, str]:
        return {"WEIQUAN_OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": self.url}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- CPU time of the stack's processes (read from /proc, Linux only) ---------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid → (ppid, CPU seconds user+system) of every process we can read."""
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


def _role(pid: int) -> str:
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv)
    if "start-dev" in text:
        return "temporal"
    if "worker.py" in text:
        return "worker"
    if "api.serve" in text:
        return "api"
    return "other"


def stack_cpu(launcher_pid: int) -> dict[str, float]:
    """CPU seconds so far of the launcher's children (with their descendants), by role."""
    if not Path("/proc").is_dir():
        return {}
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    totals: dict[str, float] = {"launcher": table.get(launcher_pid, (0, 0.0))[1]}
    for child in children.get(launcher_pid, []):
        role = _role(child)
        stack, seconds = [child], 0.0
        while stack:
            pid = stack.pop()
            seconds += table[pid][1]
            stack.extend(children.get(pid, []))
        totals[role] = totals.get(role, 0.0) + seconds
    return totals


def postgres_cpu(url: str, schema: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the schema's connections
    (their application_name), by pid: the server must run on this machine."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": schema},
            ).scalars()
            table = _proc_table()
            return {pid: table[pid][1] for pid in pids if pid in table}
    finally:
        engine.dispose()


class Postgres:
    """A new schema on the server at ``url`` for the stack's application database."""

    # Per API process. No overflow: the pool's connections stay for the whole run, so
    # their backends' CPU can be read at its end; and two processes' pools stay far
    # below max_connections (100) on a server other runs share.
    POOL_SIZE = 20

    def __init__(self, url: str) -> None:
        self.url = url
        self.schema = f"bench_life_{uuid.uuid4().hex[:10]}"
        separator = "&" if "?" in url else "?"
        # The stack's connections carry the schema's name: found by it, and ended by it.
        self.stack_url = f"{url}{separator}application_name={self.schema}"

    def create(self) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        finally:
            engine.dispose()

    def settings(self) -> dict[str, str]:
        return {
            "WEIQUAN_DATABASE_URL": self.stack_url,
            "WEIQUAN_DATABASE_SCHEMA": self.schema,
            "WEIQUAN_DATABASE_POOL_SIZE": str(self.POOL_SIZE),
            "WEIQUAN_DATABASE_MAX_OVERFLOW": "0",
        }

    def cpu(self) -> dict[int, float]:
        return postgres_cpu(self.url, self.schema)

    def drop(self) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": self.schema},
                )
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            engine.dispose()


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


# -- driving complaints over HTTP ---------------------------------------------------------------


@dataclass
class Figures:
    register: list[float] = field(default_factory=list)  # POST /cases
    triage_visible: list[float] = field(default_factory=list)  # POST /cases → triage task seen
    complete: dict[str, list[float]] = field(default_factory=dict)  # POST /tasks/{id}/complete
    lifecycle: list[float] = field(default_factory=list)  # POST /cases → callback completed
    polls: int = 0  # GET /tasks requests
    refused_early: dict[str, int] = field(default_factory=dict)  # 409 "is not an open … task"
    case_nos: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Driver:
    def __init__(
        self, http: httpx.AsyncClient, figures: Figures, poll_interval: float, strict: bool
    ) -> None:
        self.http = http
        self.figures = figures
        self.poll_interval = poll_interval
        self.strict = strict
        self.headers: dict[str, dict[str, str]] = {}

    async def login(self, *users: str) -> None:
        for user in users:
            response = await self.http.post(
                f"{API}/auth/token", data={"username": user, "password": "demo"}
            )
            if response.status_code != 200:
                raise BenchError(f"login as {user}: {response.status_code} {response.text[:300]}")
            self.headers[user] = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def call(self, method: str, url: str, user: str, **kw: Any) -> Any:
        response = await self.http.request(method, API + url, headers=self.headers[user], **kw)
        if response.status_code not in (200, 201):
            raise BenchError(
                f"{method} {url} as {user}: {response.status_code} {response.text[:300]}"
            )
        return response.json()

    async def open_task(self, case_no: str, kind: str, user: str) -> dict[str, Any]:
        params = {"case_no": case_no, "kind": kind, "status": "open"}
        deadline = time.monotonic() + TASK_TIMEOUT
        while True:
            self.figures.polls += 1
            found = await self.call("GET", "/tasks", user, params=params)
            if found["data"]:
                return found["data"][0]  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise BenchError(f"no open {kind} task for {case_no} within {TASK_TIMEOUT:.0f} s")
            await asyncio.sleep(self.poll_interval)

    async def complete(self, task: dict[str, Any], user: str, body: dict[str, Any]) -> None:
        """POST /tasks/{id}/complete; its latency includes the workflow update round trip.

        A task can be in the inbox before its workflow has taken the result of the activity
        that opened it; an update sent in that window is refused with 409 "is not an open …
        task". Unless --strict, such a 409 is counted and the completion sent again.
        """
        url = f"{API}/tasks/{task['id']}/complete"
        deadline = time.monotonic() + TASK_TIMEOUT
        while True:
            began = time.perf_counter()
            response = await self.http.post(url, headers=self.headers[user], json=body)
            took = time.perf_counter() - began
            if response.status_code == 200:
                self.figures.complete.setdefault(task["kind"], []).append(took)
                return
            early = response.status_code == 409 and "is not an open" in response.text
            if early:
                self.figures.refused_early[task["kind"]] = (
                    self.figures.refused_early.get(task["kind"], 0) + 1
                )
            if not early or self.strict or time.monotonic() > deadline:
                raise BenchError(
                    f"POST {url} as {user}: {response.status_code} {response.text[:300]}"
                )
            await asyncio.sleep(self.poll_interval)

    async def lifecycle(self, ref: str) -> None:
        began = time.perf_counter()
        case = await self.call("POST", "/cases", "operator", json=complaint(client_ref=ref))
        self.figures.register.append(time.perf_counter() - began)
        case_no = case["case_no"]
        self.figures.case_nos.append(case_no)
        triage = await self.open_task(case_no, "triage", "operator")
        self.figures.triage_visible.append(time.perf_counter() - began)
        await self.complete(triage, "operator", TRIAGE)
        await self.complete(await self.open_task(case_no, "handle", "guichi"), "guichi", HANDLE)
        callback = await self.open_task(case_no, "callback", "operator")
        await self.complete(callback, "operator", CALLBACK)
        self.figures.lifecycle.append(time.perf_counter() - began)


async def in_lanes(
    cases: int,
    concurrency: int,
    one: Callable[[int], Awaitable[None]],
    failures: list[str],
) -> None:
    """Runs ``one(i)`` for i in range(cases), ``concurrency`` at a time. A lifecycle that
    fails is recorded in ``failures`` and does not stop the others."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(cases):
        queue.put_nowait(i)

    async def lane() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                await one(i)
            except Exception as error:
                failures.append(f"lifecycle {i}: {type(error).__name__}: {error}")

    await asyncio.gather(*(lane() for _ in range(concurrency)))


async def drive(
    base: str, cases: int, concurrency: int, poll_interval: float, timeout: float, strict: bool
) -> tuple[Figures, float, dict[str, str]]:
    """Runs the lifecycles; returns the figures, the wall time and every case's final status."""
    figures = Figures()
    limits = httpx.Limits(max_connections=concurrency * 2 + 4)
    # trust_env=False: no proxy from the environment; every request goes to 127.0.0.1.
    async with httpx.AsyncClient(
        base_url=base, timeout=REQUEST_TIMEOUT, limits=limits, trust_env=False
    ) as http:
        driver = Driver(http, figures, poll_interval, strict)
        await driver.login("operator", "guichi")
        run_id = uuid.uuid4().hex[:8]

        async def one(i: int) -> None:
            await driver.lifecycle(f"bench-{run_id}-{i}")

        began = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                await in_lanes(cases, concurrency, one, figures.failures)
        except TimeoutError:
            figures.failures.append(
                f"the run did not finish within {timeout:.0f} s "
                f"({len(figures.lifecycle)} of {cases} lifecycles done)"
            )
        wall = time.perf_counter() - began

        # Outside the timed part: where did every registered case end?
        statuses: dict[str, str] = {}
        for case_no in figures.case_nos:
            try:
                statuses[case_no] = (await driver.call("GET", f"/cases/{case_no}", "operator"))[
                    "status"
                ]
            except (BenchError, httpx.HTTPError) as error:
                statuses[case_no] = f"unknown ({error})"
    return figures, wall, statuses


# -- one workflow's history -----------------------------------------------------------------------


def history_counts(address: str, case_no: str) -> dict[str, Any]:
    """Counts events of complaint-<case_no> with the venv's temporal CLI."""
    venv_bin = str(Path(sys.executable).parent)  # not resolved: the venv's bin
    temporal = shutil.which("temporal", path=venv_bin) or shutil.which("temporal")
    if temporal is None:
        raise BenchError("the temporal CLI was not found next to this Python nor on PATH")
    argv = [
        temporal, "workflow", "show",
        "--address", address,
        "--namespace", "default",
        "--workflow-id", f"complaint-{case_no}",
        "--output", "json",
    ]  # fmt: skip
    deadline = time.monotonic() + HISTORY_TIMEOUT
    while True:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT)
        if result.returncode != 0:
            raise BenchError(f"temporal workflow show: {(result.stderr or result.stdout)[:500]}")
        events = json.loads(result.stdout).get("events", [])
        types = [_event_type(e) for e in events]
        if "WORKFLOW_EXECUTION_COMPLETED" in types or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {
        "events": len(types),
        "activities": types.count("ACTIVITY_TASK_SCHEDULED"),
        "updates": types.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"),
        "updates_completed": types.count("WORKFLOW_EXECUTION_UPDATE_COMPLETED"),
        "workflow_tasks": types.count("WORKFLOW_TASK_COMPLETED"),
        "timers": types.count("TIMER_STARTED"),
        "last": types[-1] if types else "none",
    }


def _event_type(event: dict[str, Any]) -> str:
    """'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' or 'ActivityTaskScheduled' → the former, bare."""
    raw = str(event.get("eventType", ""))
    if raw.startswith("EVENT_TYPE_"):
        return raw.removeprefix("EVENT_TYPE_")
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(raw)).upper()


# -- printing -------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: list[float], unit: str = "ms") -> str:
    if not values:
        return "no samples"
    scale = 1000.0 if unit == "ms" else 1.0
    p50, p95 = percentile(values, 50) * scale, percentile(values, 95) * scale
    top = max(values) * scale
    n = len(values)
    return f"p50 {p50:7.1f} {unit}   p95 {p95:7.1f} {unit}   max {top:7.1f} {unit}   (n={n})"


def report(
    args: argparse.Namespace,
    figures: Figures,
    wall: float,
    history: dict[str, Any] | None,
    cpu: dict[str, float],
    load: tuple[float, float] | None,
) -> None:
    done = len(figures.lifecycle)
    all_completes = [t for times in figures.complete.values() for t in times]
    print()
    print(f"lifecycles completed        {done} of {args.cases} ({args.concurrency} at a time)")
    print(f"wall time                   {wall:.2f} s")
    print(f"throughput                  {done / wall if wall else 0:.2f} lifecycles/s")
    print(f"lifecycle (POST → closed)   {spread(figures.lifecycle, 's')}")
    print(f"POST /cases                 {spread(figures.register)}")
    print(f"POST /cases → triage task   {spread(figures.triage_visible)}")
    print(f"POST /tasks/{{id}}/complete   {spread(all_completes)}")
    for kind in ("triage", "handle", "callback"):
        print(f"  {kind:<25} {spread(figures.complete.get(kind, []))}")
    per = figures.polls / done if done else 0.0
    every = f"every {args.poll_interval * 1000:.0f} ms while waiting"
    print(f"GET /tasks polls            {figures.polls} ({per:.1f} per lifecycle, {every})")
    refused = sum(figures.refused_early.values())
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(figures.refused_early.items())) or "none"
    then = "failed the lifecycle (--strict)" if args.strict else "sent again"
    print(f'409 "not an open task"      {refused} ({kinds}); {then}')
    if load is not None:
        print(f"load average                {load[0]:.2f} before, {load[1]:.2f} after the run")
    if history is not None:
        print(
            f"per lifecycle (history of complaint-{history['case_no']}): "
            f"{history['activities']} activities, {history['updates']} updates "
            f"({history['updates_completed']} completed), {history['workflow_tasks']} workflow "
            f"tasks, {history['timers']} timers, {history['events']} events; "
            f"last event {history['last']}"
        )
    if cpu:
        parts = [
            f"{role} {seconds:.1f} s ({seconds / wall * 100:.0f}%)"
            for role, seconds in sorted(cpu.items(), key=lambda kv: -kv[1])
        ]
        print(f"CPU during the run (% of one core of {os.cpu_count()}): " + ", ".join(parts))
        if done:
            # What docs/production.md's sizing takes, by part (the bench's own left out).
            each = [
                f"{role} {seconds / done * 1000:.0f} ms"
                for role, seconds in sorted(cpu.items(), key=lambda kv: -kv[1])
                if role not in ("bench", "launcher")
            ]
            print("CPU per lifecycle: " + ", ".join(each))


# -- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=60, help="lifecycles to run (default 60)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="lifecycles in flight (default 8)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument(
        "--workers", type=int, default=1, help="workers on the task queue (default 1)"
    )
    parser.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="API processes on the one port (default 1); more than one needs --postgres",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="the application's database in a new schema on this PostgreSQL server "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.05,
        help="seconds between GET /tasks polls while a task is not open yet (default 0.05)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help='fail a lifecycle on 409 "is not an open … task" instead of sending it again',
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="limit for the whole run (default 900 s)"
    )
    parser.add_argument(
        "--traces",
        action="store_true",
        help="the API and the worker export their spans (OTLP/HTTP) to a sink the bench serves",
    )
    args = parser.parse_args()
    if args.cases < 1 or args.concurrency < 1:
        parser.error("--cases and --concurrency must be at least 1")
    if args.api_processes > 1 and not args.postgres:
        parser.error("--api-processes above 1 needs --postgres (SQLite takes one API process)")

    data_dir = Path(tempfile.mkdtemp(prefix="weiquan-bench-"))
    stack = Stack(data_dir)
    stack.env["WEIQUAN_EMBEDDED_WORKERS"] = str(args.workers)
    stack.env["WEIQUAN_API_PROCESSES"] = str(args.api_processes)
    postgres = Postgres(args.postgres) if args.postgres else None
    sink = TraceSink() if args.traces else None
    failed = interrupted = False
    done = 0
    try:
        if postgres is not None:
            postgres.create()
            stack.env.update(postgres.settings())
        if sink is not None:
            stack.env.update(sink.settings())
        print(f"starting the embedded stack in {data_dir} …", flush=True)
        took = stack.start()
        database = f"PostgreSQL schema {postgres.schema}" if postgres else "SQLite"
        traced = f"; traces to {sink.url}" if sink else ""
        print(
            f"healthy after {took:.1f} s (API {stack.base}: {args.api_processes} process(es), "
            f"{args.workers} worker(s), {database}; Temporal {stack.address}, headless{traced})",
            flush=True,
        )
        print(f"driving {args.cases} complaints, {args.concurrency} at a time …", flush=True)
        assert stack.proc is not None
        cpu_before, own_before = stack_cpu(stack.proc.pid), own_cpu()
        backends_before = postgres.cpu() if postgres else {}
        load_before = os.getloadavg()[0]
        figures, wall, statuses = asyncio.run(
            drive(
                stack.base,
                args.cases,
                args.concurrency,
                args.poll_interval,
                args.timeout,
                args.strict,
            )
        )
        cpu_after = stack_cpu(stack.proc.pid)
        load = (load_before, os.getloadavg()[0])
        cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
        cpu["bench"] = own_cpu() - own_before
        if postgres is not None:
            backends = postgres.cpu()
            cpu["postgres"] = sum(v - backends_before.get(pid, 0.0) for pid, v in backends.items())

        history: dict[str, Any] | None = None
        closed = [c for c, s in statuses.items() if s == "closed"]
        if closed:
            try:
                history = {"case_no": closed[0], **history_counts(stack.address, closed[0])}
            except (BenchError, subprocess.TimeoutExpired, ValueError) as error:
                print(f"could not read the history of complaint-{closed[0]}: {error}")
        report(args, figures, wall, history, cpu, load)
        done = len(figures.lifecycle)

        not_closed = {c: s for c, s in statuses.items() if s != "closed"}
        missing = args.cases - len(statuses)
        print()
        if figures.failures or not_closed or missing:
            failed = True
            for failure in figures.failures[:20]:
                print(f"FAILED: {failure}")
            for case_no, status in list(not_closed.items())[:20]:
                print(f"NOT CLOSED: {case_no} is {status}")
            if missing:
                print(f"NOT REGISTERED: {missing} of {args.cases} complaints")
        else:
            print(f"all {args.cases} cases closed")
    except BenchError as error:
        failed = True
        print(f"error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
        interrupted = True
    finally:
        print("stopping the stack (SIGINT) …", flush=True)
        code = stack.stop()
        if code not in (0, None):
            failed = True
            print(f"the launcher exited with {code}:\n{stack.out()}")
        if postgres is not None:
            postgres.drop()
        if sink is not None:
            # Counted after the stop: each process sends the spans left in its batch then.
            sink.close()
            each = ", ".join(
                f"{service} {n}" + (f" ({n / done:.0f} per lifecycle)" if done else "")
                for service, n in sorted(sink.spans.items())
            )
            print(
                f"spans exported: {each or 'none'}; {sink.requests} requests, "
                f"{sink.bytes / 1024:.0f} KiB (the polls and logins included)"
            )
        if args.keep:
            print(f"kept {data_dir} (logs: launcher.out and one per child)")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 130 if interrupted else 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
