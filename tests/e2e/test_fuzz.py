"""Schemathesis against the running stack's own ``/openapi.json``, as a user would meet it.

The stack is the one ``make run`` starts (Temporal dev server, worker, API over a socket).
For each role, every operation of the schema gets generated requests, valid ones and
invalid ones, sent with that role's token. A request fails the test when the answer is a
5xx, or when the answer does not match what the schema documents for that route: its
status code, its content type, its body.

CI sends a short run (WEIQUAN_FUZZ_EXAMPLES=8 per operation, role and mode: still well
over the 2,000 requests the short run must send, now that the API has grown past a
hundred operations; about two minutes). The long run is documented in README.md::

    WEIQUAN_FUZZ_EXAMPLES=200 make test PYTEST_ARGS=tests/e2e/test_fuzz.py
"""

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import API, Client, Embedded
from tests.factories import complaint

EXAMPLES = int(os.environ.get("WEIQUAN_FUZZ_EXAMPLES", "8"))
# The floor the issue sets for CI; a smaller WEIQUAN_FUZZ_EXAMPLES lowers it with it.
MINIMUM = 2000 * min(EXAMPLES, 8) // 8
# Every answer's status, over the run: printed, and a check that requests got through.
STATUSES: Counter[int] = Counter()
ROLES = {"operator": "operator", "handler": "guichi", "supervisor": "supervisor", "admin": "admin"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    stack = Embedded(tmp_path_factory.mktemp("fuzz"))
    stack.start()
    yield stack
    stack.stop()


def in_triage(client: Client) -> dict[str, str]:
    """A complaint waiting for the operator's triage: its number, task and deadline."""
    case_no = client.post("/cases", "operator", json=complaint(client_ref="fuzz-triage"))["case_no"]
    task = client.task(case_no, "triage", "operator")
    return {"case_no": case_no, "task_id": str(task["id"]), "name": "triage"}


def in_handling(client: Client) -> dict[str, str]:
    """A complaint dispatched to the handler's branch, with the handler's open task."""
    case_no = client.post("/cases", "operator", json=complaint(client_ref="fuzz-handle"))["case_no"]
    triage = client.task(case_no, "triage", "operator")
    decision = {"decision": "accept", "unit": ROLES["handler"]}
    client.post(f"/tasks/{triage['id']}/complete", "operator", json=decision)
    for _ in range(150):
        found = client.get(
            "/tasks", ROLES["handler"], params={"case_no": case_no, "status": "open"}
        )
        if found["data"]:
            return {"case_no": case_no, "task_id": str(found["data"][0]["id"]), "name": "handle"}
        time.sleep(0.1)
    raise AssertionError(f"no open task of {ROLES['handler']} on {case_no}")


def token(base: str, username: str) -> str:
    response = httpx.post(
        f"{base}{API}/auth/token", data={"username": username, "password": "demo"}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_the_fuzzer_finds_no_server_error_and_no_answer_outside_the_schema(
    running: Embedded,
) -> None:
    schema = schemathesis.openapi.from_url(f"{running.base}/openapi.json")
    tokens = {role: token(running.base, user) for role, user in ROLES.items()}
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    session = requests.Session()

    client = Client(running.base)
    known = {"operator": in_triage(client), "handler": in_handling(client)}

    for role, bearer in tokens.items():
        headers = {"Authorization": f"Bearer {bearer}"}
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path == f"{API}/auth/token":
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                sent[role] += fuzz(operation, mode, session, headers, failures, label=role)
            # Random case numbers mostly meet a 404: the same again on a real case and task.
            names = [parameter.name for parameter in operation.path_parameters]
            if names and all(name in known.get(role, {}) for name in names):
                sent[role] += fuzz(
                    operation,
                    GenerationMode.POSITIVE,
                    session,
                    headers,
                    failures,
                    label=f"{role} (a real case)",
                    path_parameters={name: known[role][name] for name in names},
                )

    # Signing in, fuzzed last and without a token: the failures it makes lock this address.
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == f"{API}/auth/token":
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                sent["anonymous"] += fuzz(operation, mode, session, {}, failures, label="anonymous")

    report = "\n\n".join(f"{key}:\n{text}" for key, text in sorted(failures.items()))
    assert not failures, f"{len(failures)} kinds of failure in {sum(sent.values())} requests:\n" + (
        report
    )
    print(f"\nfuzz: {dict(sent)} requests, answers by status: {sorted(STATUSES.items())}")
    assert sum(sent.values()) >= MINIMUM, sent
    # Not all refused at the door: the generated requests were taken, and refused as invalid.
    assert sum(n for status, n in STATUSES.items() if status < 300) >= len(STATUSES), STATUSES
    assert STATUSES[422] and STATUSES[404] and STATUSES[403], STATUSES
    assert set(sent) == {*ROLES, "anonymous"}, sent
    # The stack is still serving after the fuzz: nothing stalled or crashed.
    assert httpx.get(f"{running.base}/healthz", timeout=10).status_code == 200
    assert not (Path(running.data_dir) / "api.log").read_text().count("Traceback")


def fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    session: requests.Session,
    headers: dict[str, str],
    failures: dict[str, str],
    *,
    label: str,
    path_parameters: dict[str, str] | None = None,
) -> int:
    """Sends EXAMPLES generated requests to one operation; returns how many were sent.
    The first failure of each kind (role, operation, status) is kept, and the run goes on."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        response = case.call(session=session, headers=headers, timeout=60)
        sent += 1
        STATUSES[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as failure:
            key = f"{label} {operation.label} {response.status_code}"
            failures.setdefault(key, f"{failure}\n{case.as_curl_command()}"[:2000])

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label  # nothing there to make invalid
    return sent
