"""Scale-out, shown on one machine (issue 14): the stack as ``make run`` starts it, with two
API processes on one port and two workers, the application's database on PostgreSQL.

Complaints walk to closed over HTTP, each request on a new connection, so the kernel
spreads them over both API processes; both serve, one scrape of ``/metrics`` sums both,
and an API process killed is restarted while the other serves on. With SQLite the launcher
refuses more than one API process.
"""

import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from bench.lifecycle import CALLBACK, HANDLE, TRIAGE
from tests.conftest import POSTGRES_URL
from tests.e2e.conftest import ROOT, Client, Embedded, wait_until
from tests.factories import complaint

CASES = 6


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A schema of its own in the test database (WEIQUAN_TEST_POSTGRES_URL), dropped after."""
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL} (WEIQUAN_TEST_POSTGRES_URL)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"e2e_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            # The stack's connections carry the schema's name; any left would hold the drop.
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def lifecycle(base: str, ref: str) -> str:
    """One complaint from registration to closed; returns its number."""
    client = Client(base, keep_alive=False)
    case_no: str = client.post("/cases", "operator", json=complaint(client_ref=ref))["case_no"]
    for kind, user, body in (
        ("triage", "operator", TRIAGE),
        ("handle", "guichi", HANDLE),
        ("callback", "operator", CALLBACK),
    ):
        task = client.task(case_no, kind, user)
        client.post(f"/tasks/{task['id']}/complete", user, json=body)
    assert client.get(f"/cases/{case_no}", "operator")["status"] == "closed"
    return case_no


def scraped(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(f"{base}/metrics", timeout=10)
    assert answer.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def answering(base: str) -> int | None:
    """The pid of the API process that answered GET /healthz on a new connection."""
    try:
        answer = httpx.get(f"{base}/healthz", timeout=5)
    except httpx.HTTPError:
        return None
    return int(answer.json()["pid"]) if answer.status_code == 200 else None


def requests_logged(log: Path) -> Counter[str]:
    """The access lines of one API process's log, by method and route."""
    found: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["event"] == "request":
                found[f"{entry['method']} {entry['route']} {entry['status']}"] += 1
    return found


def test_two_api_processes_and_two_workers_on_postgresql(
    embedded: Embedded, postgres_schema: str
) -> None:
    embedded.env.update(
        {
            "WEIQUAN_API_PROCESSES": "2",
            "WEIQUAN_EMBEDDED_WORKERS": "2",
            "WEIQUAN_DATABASE_URL": f"{POSTGRES_URL}?application_name={postgres_schema}",
            "WEIQUAN_DATABASE_SCHEMA": postgres_schema,
            # Two processes' pools on a PostgreSQL other tests share.
            "WEIQUAN_DATABASE_POOL_SIZE": "4",
            "WEIQUAN_DATABASE_MAX_OVERFLOW": "4",
        }
    )
    took = embedded.start()
    print(f"\ntwo API processes and two workers on PostgreSQL healthy in {took:.1f} s")
    apis = embedded.pids("api")
    assert len(apis) == 2 and len(embedded.pids("worker")) == 2
    logs = [embedded.data_dir / "api-1.log", embedded.data_dir / "api-2.log"]
    # One of them migrated the new schema; the other waited for it, then found it done.
    assert sum(log.read_text().count("Running upgrade  -> 0001") for log in logs) == 1

    with ThreadPoolExecutor(3) as pool:
        closed = list(pool.map(lambda i: lifecycle(embedded.base, f"scale-{i}"), range(CASES)))
    assert len(set(closed)) == CASES

    found = scraped(embedded.base)
    each = [requests_logged(log) for log in logs]
    polls = "GET /api/v1/tasks 200"
    assert all(counted[polls] > 0 for counted in each), each  # both served
    # One scrape, whichever process answered it: the sum of both.
    labels = frozenset({"method": "GET", "route": "/api/v1/tasks", "status": "200"}.items())
    assert found[("weiquan_http_request_duration_seconds_count", labels)] == sum(
        counted[polls] for counted in each
    )
    processes = ("weiquan_api_processes", frozenset())
    assert found[processes] == 2
    callback = ("weiquan_step_duration_seconds_count", frozenset({("step", "callback")}))
    assert found[callback] >= CASES
    assert scraped(embedded.base)[callback] == found[callback]  # again, maybe the other one

    # One dies: the other serves meanwhile, the launcher restarts it, and the scrape
    # counts the processes alive, not every one that ever ran.
    os.kill(apis[0], signal.SIGKILL)
    wait_until(lambda: apis[0] not in embedded.pids("api"), 10, "api-1 gone")
    assert all(answering(embedded.base) == apis[1] for _ in range(5))
    (restarted,) = wait_until(
        lambda: set(embedded.pids("api")) - set(apis), 30, "api-1 started again"
    )
    wait_until(lambda: answering(embedded.base) == restarted, 60, "the new api-1 answering")
    assert "restarted api-1" in embedded.output()
    again = scraped(embedded.base)
    assert again[processes] == 2
    assert again[callback] == found[callback]  # the dead one's counts still in the sum
    embedded.stop()
    assert not (embedded.data_dir / "api-metrics").exists()
    assert embedded.leftovers() == []


def test_the_launcher_refuses_several_api_processes_on_sqlite(embedded: Embedded) -> None:
    """Bad settings stop the launcher at once, naming the variable, with no traceback."""
    embedded.env["WEIQUAN_API_PROCESSES"] = "2"
    embedded.env.pop("WEIQUAN_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "scripts/run_embedded.py"],
        cwd=ROOT,
        env=embedded.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: WEIQUAN_API_PROCESSES=2 needs WEIQUAN_DATABASE_URL on PostgreSQL"
    ), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (embedded.data_dir / "temporal.db").exists()
