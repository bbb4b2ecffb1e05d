"""Rule sets over the API: chosen by received_at, read by all, changed by an admin only, on
record, and never backwards: a deadline already set keeps the figures it was set with."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from api.main import prepare_database
from api.rules.service import rules_in_force
from api.workdays import WorkingCalendar, local_date
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task, register
from tests.factories import ZONE

RULES = "/api/v1/rules"
ORDER_20 = "samr-order-20"
ORDER_121 = "samr-order-121"

# Checks that are settled before the backends could differ run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def get_case(stack: Stack, case_no: str) -> dict[str, Any]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


async def triage_deadline(stack: Stack, case_no: str) -> dict[str, Any]:
    """The case's triage deadline, once the workflow has set it."""
    await open_task(stack, case_no, "triage", "operator")
    deadlines = {d["name"]: d for d in (await get_case(stack, case_no))["deadlines"]}
    return deadlines["triage"]


async def rule_set(stack: Stack, code: str) -> dict[str, Any]:
    response = await stack.call("GET", f"{RULES}/{code}", "operator")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def editable(ruleset: dict[str, Any]) -> dict[str, Any]:
    """The PUT body for a rule set as GET shows it."""
    return {k: ruleset[k] for k in ("name", "effective_from", "limits", "grounds")}


async def put(stack: Stack, code: str, body: dict[str, Any], as_: str = "admin") -> httpx.Response:
    return await stack.call("PUT", f"{RULES}/{code}", as_, json=body)


async def change_list(stack: Stack, code: str, as_: str = "auditor") -> list[dict[str, Any]]:
    response = await stack.call("GET", f"{RULES}/{code}/changes", as_)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    changes: list[dict[str, Any]] = body["data"]
    return changes


def fields(response: httpx.Response) -> set[str]:
    """The field names a 422's detail points at."""
    return {str(part) for error in response.json()["detail"] for part in error["loc"]}


@SQLITE_ONLY
async def test_the_rule_set_follows_received_at_on_both_sides_of_15_april_2026(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    last_minute = await register(stack, received_at="2026-04-14T23:59:00+08:00")
    first_minute = await register(stack, received_at="2026-04-15T00:00:00+08:00")

    assert (await get_case(stack, last_minute))["rule_set"] == ORDER_20
    assert (await get_case(stack, first_minute))["rule_set"] == ORDER_121
    assert (await triage_deadline(stack, last_minute))["rule_set"] == ORDER_20
    assert (await triage_deadline(stack, first_minute))["rule_set"] == ORDER_121

    listed = await stack.call("GET", RULES, "guichi")
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 2
    assert [r["code"] for r in listed.json()["data"]] == [ORDER_20, ORDER_121]
    order_121 = listed.json()["data"][1]
    assert order_121["effective_from"] == "2026-04-15T00:00:00+08:00"
    assert order_121["version"] == 1
    assert order_121["updated_by"] == "seed"
    assert order_121["limits"]["triage"] == {"working_days": 7, "from": "received"}
    assert order_121["limits"]["handle"]["working_days"] == 45
    assert order_121["limits"]["termination_notice"]["working_days"] == 7
    assert order_121["limits"]["verify"] == {
        "working_days": 15,
        "extension_working_days": 15,
        "from": "received",
    }
    assert order_121["limits"]["reporter_notice"]["working_days"] == 5
    assert order_121["limits"]["investigate"]["calendar_days"] == 90
    assert order_121["limits"]["investigate"]["extension_calendar_days"] == 30
    assert order_121["limits"]["callback"]["working_days"] == 5
    assert_no_server_error(responses)


async def test_a_changed_limit_governs_only_deadlines_set_after_it(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    received_before = datetime.now(ZONE) - timedelta(hours=1)
    before = await register(stack, received_at=received_before.isoformat())
    set_before = await triage_deadline(stack, before)
    assert set_before["rule_set"] == ORDER_121
    assert set_before["working_days"] == 7
    with stack.db() as session:
        book_before = rules_in_force(session=session, settings=stack.settings)
        # Nothing changed: the same book, not rebuilt.
        assert rules_in_force(session=session, settings=stack.settings) is book_before

    body = editable(await rule_set(stack, ORDER_121))
    body["limits"]["triage"]["working_days"] = 10
    changed = await put(stack, ORDER_121, {**body, "version": 1})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.json()["limits"]["triage"] == {"working_days": 10, "from": "received"}
    assert changed.json()["updated_by"] == "admin"

    received_after = datetime.now(ZONE) - timedelta(hours=1)
    after = await register(stack, received_at=received_after.isoformat())
    set_after = await triage_deadline(stack, after)
    expected = WorkingCalendar().add_working_days(local_date(received_after), 10).end
    assert set_after["working_days"] == 10
    assert set_after["due_date"] == expected.isoformat()
    assert set_after["rule_set"] == ORDER_121

    kept = await triage_deadline(stack, before)
    assert kept["working_days"] == 7
    assert kept["due_date"] == set_before["due_date"]
    assert kept["due_at"] == set_before["due_at"]
    untouched = await rule_set(stack, ORDER_20)
    assert (untouched["version"], untouched["limits"]["triage"]["working_days"]) == (1, 7)
    with stack.db() as session:
        book_after = rules_in_force(session=session, settings=stack.settings)
        assert book_after is not book_before
        assert book_after.by_code(ORDER_121).limit("triage").working_days == 10

    changes = await change_list(stack, ORDER_121)
    assert [c["version"] for c in changes] == [2, 1]
    latest = changes[0]
    assert latest["by"] == "admin"
    assert datetime.fromisoformat(latest["at"]) >= received_after
    assert latest["before"]["limits"]["triage"]["working_days"] == 7
    assert latest["after"]["limits"]["triage"]["working_days"] == 10
    assert latest["after"]["grounds"] == latest["before"]["grounds"]
    assert (changes[1]["by"], changes[1]["before"]) == ("seed", None)
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_only_an_admin_changes_a_rule_set_and_a_bad_body_changes_nothing(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    original = await rule_set(stack, ORDER_121)
    body = editable(original)
    longer = {**body, "limits": {**body["limits"], "triage": {"working_days": 10}}}

    for role in ("operator", "supervisor", "auditor", "guichi"):
        refused = await put(stack, ORDER_121, longer, as_=role)
        assert refused.status_code == 403, (role, refused.text)

    def with_triage(limit: dict[str, Any]) -> dict[str, Any]:
        return {**body, "limits": {**body["limits"], "triage": limit}}

    order_20_start = (await rule_set(stack, ORDER_20))["effective_from"]
    without_triage = {k: v for k, v in body["limits"].items() if k != "triage"}
    invalid: list[tuple[dict[str, Any], str]] = [
        (with_triage({"working_days": -3}), "working_days"),
        (with_triage({"working_days": 0}), "working_days"),
        (with_triage({"workdays": 10}), "workdays"),
        (with_triage({"from": "received"}), "triage"),
        ({**body, "limits": without_triage}, "triage"),
        ({**body, "effective_from": "2026-04-15T00:00:00"}, "effective_from"),
        ({**body, "effective_from": order_20_start}, "effective_from"),
        ({**body, "code": ORDER_20}, "code"),
        ({**body, "name": ""}, "name"),
        ({k: v for k, v in body.items() if k != "grounds"}, "grounds"),
        ({**body, "grounds": {"reject": [{"code": "X", "article": "a"}]}}, "text"),
    ]
    for bad, field in invalid:
        response = await put(stack, ORDER_121, bad)
        assert response.status_code == 422, (field, response.text)
        assert field in fields(response), (field, response.text)

    assert await rule_set(stack, ORDER_121) == original
    assert len(await change_list(stack, ORDER_121)) == 1

    unknown = await put(stack, "samr-order-999", {**body, "code": "samr-order-999"})
    assert unknown.status_code == 404, unknown.text
    assert (await stack.call("GET", f"{RULES}/samr-order-999", "admin")).status_code == 404
    missing = await stack.call("GET", f"{RULES}/samr-order-999/changes", "admin")
    assert missing.status_code == 404, missing.text
    hidden = await stack.call("GET", f"{RULES}/{ORDER_121}/changes", "operator")
    assert hidden.status_code == 403, hidden.text

    same = await put(stack, ORDER_121, {**body, "code": ORDER_121})
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 1  # nothing changed, so no new version
    assert len(await change_list(stack, ORDER_121, as_="supervisor")) == 1

    first = await put(stack, ORDER_121, {**longer, "version": 1})
    assert first.status_code == 200, first.text
    stale = await put(stack, ORDER_121, {**with_triage({"working_days": 12}), "version": 1})
    assert stale.status_code == 409, stale.text
    assert (await rule_set(stack, ORDER_121))["limits"]["triage"]["working_days"] == 10
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_grounds_are_served_with_their_text_and_a_new_ground_can_be_chosen(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    async def grounds(kind: str, **params: str) -> dict[str, Any]:
        response = await stack.call(
            "GET", f"{RULES}/grounds", "operator", params={"kind": kind, **params}
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    reject = await grounds("reject")
    assert reject["rule_set"] == ORDER_121
    assert [g["code"] for g in reject["data"]] == [f"R15-{i}" for i in range(1, 7)]
    assert reject["data"][0]["article"] == "第十五条第一项"
    assert "不属于市场监督管理部门职责" in reject["data"][0]["text"]
    terminate = await grounds("terminate")
    assert [g["code"] for g in terminate["data"]] == [f"T21-{i}" for i in range(1, 8)]
    assert terminate["data"][4]["article"] == "第二十一条第五项"
    assert "四十五个工作日" in terminate["data"][4]["text"]
    assert (await grounds("reject", received_at="2026-04-14T23:59:00+08:00"))[
        "rule_set"
    ] == ORDER_20

    new = {"code": "R121-7", "article": "第十五条第七项", "text": "测试用新增不予受理情形"}
    body = editable(await rule_set(stack, ORDER_121))
    body["grounds"]["reject"].append(new)
    changed = await put(stack, ORDER_121, body)
    assert changed.status_code == 200, changed.text

    assert (await grounds("reject"))["data"][-1] == new
    order_20 = await grounds("reject", received_at="2026-04-14T23:59:00+08:00")
    assert "R121-7" not in [g["code"] for g in order_20["data"]]

    reason = {"decision": "reject", "ground": "R121-7", "reason": "测试"}
    under_121 = await register(stack)
    triage = await open_task(stack, under_121, "triage", "operator")
    done = await stack.call(
        "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=reason
    )
    assert done.status_code == 200, done.text
    assert (await get_case(stack, under_121))["status"] == "rejected"

    under_20 = await register(stack, received_at="2026-04-14T23:59:00+08:00")
    triage = await open_task(stack, under_20, "triage", "operator")
    refused = await stack.call(
        "POST", f"/api/v1/tasks/{triage['id']}/complete", "operator", json=reason
    )
    assert refused.status_code == 422, refused.text
    assert "ground" in fields(refused)
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_seeding_again_keeps_the_table_as_it_is(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    await asyncio.to_thread(prepare_database, stack.engine, stack.settings)
    await asyncio.to_thread(prepare_database, stack.engine, stack.settings)

    listed = (await stack.call("GET", RULES, "admin")).json()
    assert [(r["code"], r["version"]) for r in listed["data"]] == [(ORDER_20, 1), (ORDER_121, 1)]
    assert len(await change_list(stack, ORDER_121)) == 1

    body = editable(await rule_set(stack, ORDER_121))
    body["limits"]["handle"]["working_days"] = 30
    assert (await put(stack, ORDER_121, body)).status_code == 200
    await asyncio.to_thread(prepare_database, stack.engine, stack.settings)

    kept = await rule_set(stack, ORDER_121)
    assert (kept["version"], kept["limits"]["handle"]["working_days"]) == (2, 30)
    assert_no_server_error(responses)
