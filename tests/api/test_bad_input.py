"""A client's mistakes get a 4xx that names the problem, and change nothing.

Every response of these tests is recorded; each test ends by checking that none was a
server error (docs/api.md: "A client's mistake is never a 500").
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import assert_no_server_error
from tests.conftest import Database, Stack, open_task, register, running_stack
from tests.factories import ZONE, complaint

CASES = "/api/v1/cases"
TASKS = "/api/v1/tasks"

# Checks that are settled before the backends could differ run on SQLite only, to keep
# the suite quick.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def detail_text(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"detail", "code"}, body  # docs/api.md: every error has its code
    return str(body["detail"])


def problem(response: httpx.Response) -> str:
    """What the detail says is wrong: its message, or each error's location and message
    (not the echoed input, which would name every field the client sent)."""
    body = response.json()
    assert set(body) == {"detail", "code"}, body  # docs/api.md: every error has its code
    detail = body["detail"]
    if isinstance(detail, str):
        return detail
    return " ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in detail)


def fields(response: httpx.Response) -> set[str]:
    """The field names the 422's detail points at."""
    return {
        str(part) for error in response.json()["detail"] for part in error["loc"] if part != "body"
    }


async def case_count(stack: Stack) -> int:
    response = await stack.call("GET", CASES, "operator")
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def history(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    response = await stack.call("GET", f"{CASES}/{case_no}/history", "auditor")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def case_status(stack: Stack, case_no: str) -> str:
    response = await stack.call("GET", f"{CASES}/{case_no}", "operator")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def task(stack: Stack, task_id: int, as_: str = "auditor") -> dict[str, Any]:
    response = await stack.call("GET", f"{TASKS}/{task_id}", as_)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def complete(stack: Stack, task_id: int, as_: str, body: Any) -> httpx.Response:
    return await stack.call("POST", f"{TASKS}/{task_id}/complete", as_, json=body)


# --- registration -------------------------------------------------------------------------


async def test_registration_writes_nothing_for_invalid_bodies_and_once_per_client_ref(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    without_complainant = complaint()
    del without_complainant["complainant"]
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).isoformat()
    refused = {
        "complainant": without_complainant,
        "description": complaint(description=""),
        "channel": complaint(channel="fax"),
        "received_at": complaint(received_at="2026-09-30T10:00:00"),  # no offset
        # A report names its reporter (or is anonymous); it has no complainant.
        "reporter": complaint(kind="report"),
        "campaign": complaint(campaign="no-such-campaign"),
    }

    for field, body in refused.items():
        response = await stack.call("POST", CASES, "operator", json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in fields(response), (field, response.text)

    future = await stack.call("POST", CASES, "operator", json=complaint(received_at=tomorrow))
    assert future.status_code == 422, future.text
    assert "received_at" in fields(future)
    assert "future" in problem(future)

    malformed = await post_raw(stack, CASES, b'{"kind": "complaint", "channel": "hotline",')
    assert malformed.status_code == 422, malformed.text
    assert "JSON" in problem(malformed)
    assert await case_count(stack) == 0

    # A client retrying a registration with its idempotency key gets the same case back.
    body = complaint(client_ref="hotline-call-0001")
    first = await stack.call("POST", CASES, "operator", json=body)
    again = await stack.call("POST", CASES, "operator", json=body)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["case_no"] == first.json()["case_no"]
    assert await case_count(stack) == 1
    case_no = first.json()["case_no"]
    await open_task(stack, case_no, "triage", "operator")
    assert [e["type"] for e in await history(stack, case_no)].count("registered") == 1
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_blank_description_is_refused(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    response = await stack.call("POST", CASES, "operator", json=complaint(description="   \n "))

    assert response.status_code == 422, response.text
    assert "description" in fields(response)
    assert await case_count(stack) == 0
    assert_no_server_error(responses)


# --- task completion ----------------------------------------------------------------------


async def test_triage_refuses_unknown_units_grounds_and_fields_then_takes_a_valid_rejection(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    before = await history(stack, case_no)
    refused: list[tuple[dict[str, Any], str]] = [
        ({"decision": "accept", "unit": "nowhere"}, "unit"),
        ({"decision": "accept", "unit": "city"}, "unit"),  # the centre is not a branch
        ({"decision": "reject", "ground": "R99-9", "reason": "不属于受理范围"}, "ground"),
        ({"decision": "accept", "unit": "guichi", "colour": "red"}, "colour"),
        ({"unit": "guichi"}, "decision"),
    ]

    for body, named in refused:
        response = await complete(stack, triage["id"], "operator", body)
        assert response.status_code == 422, (body, response.text)
        assert named in problem(response), (body, response.text)
        assert (await task(stack, triage["id"]))["status"] == "open", body
    assert await history(stack, case_no) == before
    assert await case_status(stack, case_no) == "triage"

    grounds = await stack.call(
        "GET",
        "/api/v1/rules/grounds",
        "operator",
        params={"kind": "reject", "received_at": before[0]["data"]["received_at"]},
    )
    assert grounds.status_code == 200, grounds.text
    ground = grounds.json()["data"][0]["code"]
    body = {"decision": "reject", "ground": ground, "reason": "已由法院受理"}
    rejected = await complete(stack, triage["id"], "operator", body)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "done"
    assert await case_status(stack, case_no) == "rejected"

    after = await history(stack, case_no)
    twice = await complete(stack, triage["id"], "operator", body)
    assert twice.status_code == 409, twice.text
    assert "already done" in detail_text(twice)
    assert await history(stack, case_no) == after
    assert_no_server_error(responses)


async def test_a_withdrawn_case_refuses_completion_and_a_second_withdrawal(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    withdraw = f"{CASES}/{case_no}/withdraw"

    no_reason = await stack.call("POST", withdraw, "operator", json={})
    assert no_reason.status_code == 422, no_reason.text
    assert "reason" in fields(no_reason)
    assert await case_status(stack, case_no) == "triage"

    withdrawn = await stack.call("POST", withdraw, "operator", json={"reason": "已与商家和解"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await task(stack, triage["id"]))["status"] == "cancelled"
    after = await history(stack, case_no)

    late = await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    assert late.status_code == 409, late.text
    assert "cancelled" in detail_text(late)

    again = await stack.call("POST", withdraw, "operator", json={"reason": "再次撤回"})
    assert again.status_code == 409, again.text
    assert "withdrawn" in detail_text(again)

    assert await history(stack, case_no) == after
    assert await case_status(stack, case_no) == "withdrawn"

    unknown = await stack.call(
        "POST", f"{CASES}/TS19700101999999/withdraw", "operator", json={"reason": "x"}
    )
    assert unknown.status_code == 404, unknown.text
    assert "TS19700101999999" in detail_text(unknown)
    assert_no_server_error(responses)


async def test_a_callback_that_reached_the_complainant_needs_the_satisfaction(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    accepted = await complete(
        stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"}
    )
    assert accepted.status_code == 200, accepted.text
    handle = await open_task(stack, case_no, "handle", "guichi")
    agreement = {"outcome": "agreement", "summary": "商家同意退货", "reply": "已退货退款"}
    handled = await complete(stack, handle["id"], "guichi", agreement)
    assert handled.status_code == 200, handled.text
    callback = await open_task(stack, case_no, "callback", "operator")
    before = await history(stack, case_no)

    for body in ({"reached": True}, {"reached": False, "satisfaction": "satisfied"}):
        response = await complete(stack, callback["id"], "operator", body)
        assert response.status_code == 422, (body, response.text)
        assert "satisfaction" in problem(response), response.text

    assert (await task(stack, callback["id"]))["status"] == "open"
    assert await history(stack, case_no) == before
    assert await case_status(stack, case_no) == "replied"
    reached = {"reached": True, "satisfaction": "basically_satisfied"}
    done = await complete(stack, callback["id"], "operator", reached)
    assert done.status_code == 200, done.text
    assert await case_status(stack, case_no) == "closed"
    assert_no_server_error(responses)


async def test_a_task_id_no_task_can_have_is_not_found_rather_than_a_server_error(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    impossible = 2**64

    response = await complete(stack, impossible, "operator", {"decision": "accept", "unit": "x"})

    assert response.status_code in (404, 422), response.text
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_grounds_for_a_date_before_every_rule_set_are_refused_as_invalid_input(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    response = await stack.call(
        "GET",
        "/api/v1/rules/grounds",
        "operator",
        params={"kind": "reject", "received_at": "2019-01-01T00:00:00+08:00"},
    )

    assert response.status_code == 422, response.text
    assert "received_at" in problem(response)
    assert_no_server_error(responses)


# --- credentials --------------------------------------------------------------------------


async def test_requests_without_valid_credentials_are_401(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    now = datetime.now(UTC)
    valid_for = {"iat": now, "exp": now + timedelta(hours=1)}
    forged = jwt.encode(
        {"sub": "operator", **valid_for}, "not-the-server-secret-" * 3, algorithm="HS256"
    )
    # Earlier versions signed with a secret printed in the code: an admin for anyone.
    published = jwt.encode(
        {"sub": "admin", **valid_for},
        "dev-only-secret-change-me-in-production-000000",
        algorithm="HS256",
    )
    unknown_user = jwt.encode(
        {"sub": "nobody", **valid_for}, stack.settings.secret_key, algorithm="HS256"
    )
    no_expiry = jwt.encode(
        {"sub": "operator", "iat": now}, stack.settings.secret_key, algorithm="HS256"
    )
    expired = jwt.encode(
        {"sub": "operator", "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
        stack.settings.secret_key,
        algorithm="HS256",
    )
    attempts: dict[str, dict[str, str]] = {
        "no token": {},
        "garbage token": {"Authorization": "Bearer not-a-token"},
        "forged token": {"Authorization": f"Bearer {forged}"},
        "token signed with the published secret": {"Authorization": f"Bearer {published}"},
        "token of no user": {"Authorization": f"Bearer {unknown_user}"},
        "token without exp": {"Authorization": f"Bearer {no_expiry}"},
        "expired token": {"Authorization": f"Bearer {expired}"},
        "basic auth": {"Authorization": "Basic b3BlcmF0b3I6ZGVtbw=="},
    }

    for label, headers in attempts.items():
        for method, url in (("GET", CASES), ("POST", CASES), ("GET", "/api/v1/me")):
            response = await stack.api.request(method, url, headers=headers, json=complaint())
            assert response.status_code == 401, (label, method, url, response.text)
            assert "token" in detail_text(response), response.text
            assert response.headers["WWW-Authenticate"] == "Bearer"

    operator = (await stack.login("operator"))["Authorization"].removeprefix("Bearer ")
    for token in ("dev-only-service-token", operator):
        internal = await stack.api.post(
            "/internal/v1/cases/X/steps",
            headers={"Authorization": f"Bearer {token}"},
            json={"case_no": "X", "key": "1:open_triage", "step": "open_triage"},
        )
        assert internal.status_code == 401, internal.text

    wrong_password = await stack.api.post(
        "/api/v1/auth/token", data={"username": "operator", "password": "wrong"}
    )
    assert wrong_password.status_code == 401, wrong_password.text
    assert "password" in detail_text(wrong_password)
    assert await case_count(stack) == 0
    assert_no_server_error(responses)


# --- what a fuzzer found (issue 8, defect 7) ------------------------------------------------


@SQLITE_ONLY
async def test_an_offset_beyond_any_integer_is_invalid_input_everywhere(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    huge = str(2**64)
    for url in (CASES, TASKS, "/api/v1/supervision/overdue", "/api/v1/supervision/incidents"):
        for param in ("offset", "limit"):
            response = await stack.call("GET", url, "supervisor", params={param: huge})
            assert response.status_code == 422, (url, param, response.text)
            assert param in fields(response)
    # Every limit and offset of the API has the same bounds.
    spec = (await stack.api.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ("limit", "offset"):
                    schema = parameter["schema"]
                    assert schema.get("maximum") is not None, (path, parameter)
                    assert schema.get("minimum") is not None, (path, parameter)
    assert_no_server_error(responses)


async def post_raw(stack: Stack, url: str, content: str | bytes) -> httpx.Response:
    """POSTs bytes as JSON, as the operator: what no JSON library of a client would send."""
    headers = {**(await stack.login("operator")), "Content-Type": "application/json"}
    return await stack.api.post(url, content=content, headers=headers)


@SQLITE_ONLY
async def test_a_lone_surrogate_in_a_json_string_is_refused_as_invalid_input(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    # Valid JSON, but "\ud800" is no Unicode character: no database could store it.
    raw = json.dumps(complaint(description="冰箱坏了\ud800"), ensure_ascii=True)
    for url in (CASES, f"{TASKS}/1/complete", "/api/v1/auth/token"):
        response = await post_raw(stack, url, raw)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "request.not_unicode"
    # A pair of surrogates is one character (an emoji): accepted.
    paired = json.dumps(complaint(description="冰箱坏了😡"), ensure_ascii=True)
    accepted = await post_raw(stack, CASES, paired)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["description"] == "冰箱坏了😡"
    # An invalid field's error does not echo what was sent (it could not be encoded).
    invalid = await post_raw(
        stack, CASES, json.dumps({**complaint(), "channel": "\ud800"}, ensure_ascii=True)
    )
    assert invalid.status_code == 422
    assert await case_count(stack) == 1
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_body_that_is_not_utf8_is_refused_as_invalid_input_naming_it(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    # Found by the fuzzer: FastAPI answered an undocumented 400 "error parsing the body".
    for url in (CASES, f"{TASKS}/1/complete"):
        response = await post_raw(stack, url, b"\xff\x7f\xfe")
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "request.not_json"
        assert response.json()["detail"][0]["msg"] == "the body is not JSON in UTF-8"
    assert await case_count(stack) == 0
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_blank_texts_are_refused_where_the_route_builds_the_case_itself(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    done = await stack.call(
        "POST",
        f"{TASKS}/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    for url, as_, body, field in (
        (f"{CASES}/{case_no}/reports", "guichi", {"description": " \t\n "}, "description"),
        (f"{CASES}/{case_no}/withdraw", "operator", {"reason": "   "}, "reason"),
    ):
        response = await stack.call("POST", url, as_, json=body)
        assert response.status_code == 422, (url, response.text)
        assert field in fields(response)
    assert await case_count(stack) == 1
    assert_no_server_error(responses)


async def test_a_complaint_opens_a_bounded_number_of_clue_reports(
    database: Database, dev_env: WorkflowEnvironment
) -> None:
    settings = database.settings.model_copy(update={"max_clue_reports_per_case": 2})
    async with running_stack(database, dev_env.client, settings=settings) as stack:
        case_no = await register(stack)
        triage = await open_task(stack, case_no, "triage", "operator")
        await stack.call(
            "POST",
            f"{TASKS}/{triage['id']}/complete",
            "operator",
            json={"decision": "accept", "unit": "guichi"},
        )
        url = f"{CASES}/{case_no}/reports"
        for n in range(2):
            opened = await stack.call("POST", url, "guichi", json={"description": f"线索{n}"})
            assert opened.status_code == 201, opened.text
        third = await stack.call("POST", url, "guichi", json={"description": "线索3"})
        assert third.status_code == 409, third.text
        assert third.json()["code"] == "clue.too_many"
        assert await case_count(stack) == 3


async def test_every_route_documents_the_errors_it_can_answer(stack: Stack) -> None:
    spec = (await stack.api.get("/openapi.json")).json()
    missing = [
        (method.upper(), path, code)
        for path, operations in spec["paths"].items()
        if path.startswith(("/api/v1", "/internal"))
        for method, operation in operations.items()
        for code in ("401", "403", "404", "409")
        if code not in operation["responses"]
    ]
    assert missing == []
    error = spec["components"]["schemas"]["ErrorPublic"]
    assert set(error["required"]) == {"detail", "code"}
