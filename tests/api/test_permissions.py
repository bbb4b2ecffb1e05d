"""Who sees and does what: branch isolation, read-only auditors, roles, claiming.

Every response of these tests is recorded; each test ends by checking that none was a
server error (docs/api.md: "A client's mistake is never a 500").
"""

from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task, register
from tests.factories import complaint

CASES = "/api/v1/cases"
TASKS = "/api/v1/tasks"
PHONE = "13800000000"

# Checks that do not depend on the backend run on SQLite only, to keep the suite quick.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def register_in(stack: Stack, district: str = "贵池区") -> str:
    respondent = {"name": "某某家电商场", "district": district, "address": "长江路1号"}
    return await register(
        stack, respondent=respondent, complainant={"name": "张三", "phone": PHONE}
    )


async def accepted(stack: Stack, unit: str, district: str) -> tuple[str, dict[str, Any]]:
    """A case accepted for ``unit``, and its open handle task."""
    case_no = await register_in(stack, district)
    triage = await open_task(stack, case_no, "triage", "operator")
    done = await stack.call(
        "POST",
        f"{TASKS}/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": unit},
    )
    assert done.status_code == 200, done.text
    return case_no, await open_task(stack, case_no, "handle", unit)


async def listed_cases(stack: Stack, as_: str, **params: str) -> list[dict[str, Any]]:
    response = await stack.call("GET", CASES, as_, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    data: list[dict[str, Any]] = body["data"]
    return data


async def listed_task_ids(stack: Stack, as_: str, **params: str) -> set[int]:
    response = await stack.call("GET", TASKS, as_, params=params)
    assert response.status_code == 200, response.text
    return {t["id"] for t in response.json()["data"]}


async def history_length(stack: Stack, case_no: str) -> int:
    response = await stack.call("GET", f"{CASES}/{case_no}/history", "auditor")
    assert response.status_code == 200, response.text
    return len(response.json()["events"])


async def test_a_handler_sees_and_acts_on_its_own_unit_only(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    in_guichi, handle = await accepted(stack, "guichi", "贵池区")
    in_dongzhi, _ = await accepted(stack, "dongzhi", "东至县")
    in_triage = await register_in(stack)
    triage = await open_task(stack, in_triage, "triage", "operator")
    events = await history_length(stack, in_guichi)

    me = await stack.call("GET", "/api/v1/me", "guichi")
    assert me.status_code == 200, me.text
    assert me.json() == {"username": "guichi", "role": "handler", "unit": "guichi"}

    assert [c["case_no"] for c in await listed_cases(stack, "guichi")] == [in_guichi]
    assert [c["case_no"] for c in await listed_cases(stack, "dongzhi")] == [in_dongzhi]
    assert await listed_cases(stack, "guichi", unit="dongzhi") == []

    # dongzhi neither sees guichi's case nor its task, and cannot take or finish it.
    for url in (f"{CASES}/{in_guichi}", f"{CASES}/{in_guichi}/history"):
        hidden = await stack.call("GET", url, "dongzhi")
        assert hidden.status_code == 404, (url, hidden.text)
    assert handle["id"] not in await listed_task_ids(stack, "dongzhi")
    assert await listed_task_ids(stack, "dongzhi", case_no=in_guichi) == set()
    agreement = {"outcome": "agreement", "summary": "商家同意退货", "reply": "已退货退款"}
    for action, body in (("complete", agreement), ("claim", None)):
        refused = await stack.call("POST", f"{TASKS}/{handle['id']}/{action}", "dongzhi", json=body)
        assert refused.status_code == 404, (action, refused.text)

    # guichi cannot triage: the triage task of a case not yet dispatched is not visible to
    # a branch, so it is "unknown, or not visible to this user" (docs/api.md) — 404, not 403.
    assert triage["id"] not in await listed_task_ids(stack, "guichi")
    refused = await stack.call(
        "POST",
        f"{TASKS}/{triage['id']}/complete",
        "guichi",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert refused.status_code == 404, refused.text

    still = await stack.call("GET", f"{TASKS}/{handle['id']}", "guichi")
    assert (still.json()["status"], still.json()["assignee"]) == ("open", None)
    assert (await open_task(stack, in_triage, "triage", "operator"))["id"] == triage["id"]
    assert await history_length(stack, in_guichi) == events
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_role_that_may_not_register_or_withdraw_gets_403_and_nothing_changes(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    case_no = await register_in(stack)
    await open_task(stack, case_no, "triage", "operator")

    by_handler = await stack.call("POST", CASES, "guichi", json=complaint())
    by_auditor = await stack.call(
        "POST", f"{CASES}/{case_no}/withdraw", "auditor", json={"reason": "审计人员不得撤回"}
    )

    assert by_handler.status_code == 403, by_handler.text
    assert "handler" in by_handler.json()["detail"]
    assert by_auditor.status_code == 403, by_auditor.text
    assert "auditor" in by_auditor.json()["detail"]
    assert len(await listed_cases(stack, "operator")) == 1
    case = await stack.call("GET", f"{CASES}/{case_no}", "operator")
    assert case.json()["status"] == "triage"
    assert_no_server_error(responses)


async def test_the_auditor_reads_every_case_with_the_complainant_masked_and_acts_on_none(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    in_guichi, handle = await accepted(stack, "guichi", "贵池区")
    in_triage = await register_in(stack, "东至县")
    triage = await open_task(stack, in_triage, "triage", "operator")

    assert {c["case_no"] for c in await listed_cases(stack, "auditor")} == {in_guichi, in_triage}
    for case_no in (in_guichi, in_triage):
        seen = await stack.call("GET", f"{CASES}/{case_no}", "auditor")
        assert seen.status_code == 200, seen.text
        assert seen.json()["complainant"]["phone"] == "138****0000"
        assert seen.json()["complainant"]["name"] == "张*"
        full = await stack.call("GET", f"{CASES}/{case_no}", "operator")
        assert full.json()["complainant"] == {"name": "张三", "phone": PHONE}
        events = await stack.call("GET", f"{CASES}/{case_no}/history", "auditor")
        assert events.status_code == 200, events.text
        assert events.json()["events"][0]["type"] == "registered"
        assert PHONE not in events.text

    assert {handle["id"], triage["id"]} <= await listed_task_ids(stack, "auditor")
    for task, body in (
        (handle, {"outcome": "agreement", "summary": "s", "reply": "r"}),
        (triage, {"decision": "accept", "unit": "dongzhi"}),
    ):
        for action in ("claim", "complete"):
            refused = await stack.call(
                "POST", f"{TASKS}/{task['id']}/{action}", "auditor", json=body
            )
            assert refused.status_code == 403, (task["kind"], action, refused.text)
        unchanged = await stack.call("GET", f"{TASKS}/{task['id']}", "auditor")
        assert (unchanged.json()["status"], unchanged.json()["assignee"]) == ("open", None)
    assert_no_server_error(responses)


async def test_an_operator_claims_a_triage_task_and_claiming_it_again_changes_nothing(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    case_no = await register_in(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    claim = f"{TASKS}/{triage['id']}/claim"

    claimed = await stack.call("POST", claim, "operator")
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["status"], claimed.json()["assignee"]) == ("claimed", "operator")
    assert await listed_task_ids(stack, "operator", case_no=case_no, status="open") == set()
    assert await listed_task_ids(stack, "operator", case_no=case_no, status="claimed") == {
        triage["id"]
    }

    # The same operator claiming again (a double click) is harmless: still theirs.
    again = await stack.call("POST", claim, "operator")
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["assignee"]) == ("claimed", "operator")

    # Nobody of another role takes it over.
    by_supervisor = await stack.call("POST", claim, "supervisor")
    assert by_supervisor.status_code == 403, by_supervisor.text
    by_handler = await stack.call("POST", claim, "guichi")
    assert by_handler.status_code == 404, by_handler.text
    task = await stack.call("GET", f"{TASKS}/{triage['id']}", "operator")
    assert task.json()["assignee"] == "operator"

    done = await stack.call(
        "POST",
        f"{TASKS}/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["assignee"]) == ("done", "operator")
    assert_no_server_error(responses)
