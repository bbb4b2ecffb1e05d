"""A complaint walks its whole lifecycle over the HTTP API, on SQLite and PostgreSQL."""

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Stack, open_task, register
from tests.factories import ZONE, complaint
from workflows.complaint import ComplaintWorkflow, workflow_id


async def test_complaint_walks_from_registration_to_closed(stack: Stack) -> None:
    created = await stack.call("POST", "/api/v1/cases", "operator", json=complaint())
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    assert created.json()["suggested_unit"] == "guichi"

    triage = await open_task(stack, case_no, "triage", "operator")
    assert triage["context"]["suggested_unit"] == "guichi"
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"

    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "handling"
    assert case["unit"] == "guichi"
    names = {d["name"]: d for d in case["deadlines"]}
    assert names["triage"]["state"] == "met"
    assert names["handle"]["state"] == "pending"
    assert names["handle"]["working_days"] == 45

    handle = await open_task(stack, case_no, "handle", "guichi")
    handled = await stack.call(
        "POST",
        f"/api/v1/tasks/{handle['id']}/complete",
        "guichi",
        json={
            "outcome": "agreement",
            "summary": "商家同意退货",
            "amount_recovered": 2999,
            "reply": "已退货退款",
        },
    )
    assert handled.status_code == 200, handled.text

    callback = await open_task(stack, case_no, "callback", "operator")
    first = await stack.call(
        "POST", f"/api/v1/tasks/{callback['id']}/complete", "operator", json={"reached": False}
    )
    assert first.status_code == 200, first.text
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "callback"

    second = await open_task(stack, case_no, "callback", "operator")
    assert second["context"]["attempt"] == 2
    reached = await stack.call(
        "POST",
        f"/api/v1/tasks/{second['id']}/complete",
        "operator",
        json={"reached": True, "satisfaction": "satisfied"},
    )
    assert reached.status_code == 200, reached.text

    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "closed"
    assert case["satisfaction"] == "satisfied"
    assert not case["overdue"]

    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()[
        "events"
    ]
    types = [e["type"] for e in history]
    assert types[0] == "registered"
    for expected in (
        "accepted",
        "mediation_agreed",
        "replied",
        "callback_unreached",
        "callback_reached",
    ):
        assert expected in types
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    statuses = [e["data"]["to"] for e in history if e["type"] == "status_changed"]
    assert statuses == ["triage", "handling", "replied", "callback", "closed"]


SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


async def complete(stack: Stack, case_no: str, kind: str, as_: str, body: dict[str, Any]) -> None:
    task = await open_task(stack, case_no, kind, as_)
    response = await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", as_, json=body)
    assert response.status_code == 200, response.text


@SQLITE_ONLY
async def test_withdrawal_in_handling_cancels_the_open_task_and_ends_the_workflow(
    stack: Stack,
) -> None:
    case_no = await register(stack)
    await complete(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "qingyang"})
    handle = await open_task(stack, case_no, "handle", "qingyang")

    withdrawn = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/withdraw", "operator", json={"reason": "双方已自行和解"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"

    task = (await stack.call("GET", f"/api/v1/tasks/{handle['id']}", "qingyang")).json()
    assert task["status"] == "cancelled"
    deadlines = {d["name"]: d["state"] for d in withdrawn.json()["deadlines"]}
    assert deadlines == {"triage": "met", "handle": "met"}
    result = await stack.client.get_workflow_handle_for(
        ComplaintWorkflow.run, workflow_id(case_no)
    ).result()
    assert result.status == "withdrawn"


@SQLITE_ONLY
async def test_three_unreached_callbacks_close_the_case_as_unreachable(stack: Stack) -> None:
    case_no = await register(stack)
    await complete(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "shitai"})
    await complete(
        stack,
        case_no,
        "handle",
        "shitai",
        {"outcome": "terminated", "ground": "T21-3", "reply": "被投诉人拒绝调解，已告知"},
    )
    # Both parties are told of the termination (7 working days); the ladder ends there.
    await complete(
        stack,
        case_no,
        "notify_termination",
        "shitai",
        {"complainant": "phone", "respondent": "letter", "told_on": today(), "next": "end"},
    )
    for attempt in (1, 2, 3):
        task = await open_task(stack, case_no, "callback", "operator")
        assert task["context"]["attempt"] == attempt
        done = await stack.call(
            "POST", f"/api/v1/tasks/{task['id']}/complete", "operator", json={"reached": False}
        )
        assert done.status_code == 200, done.text

    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "closed"
    assert case["satisfaction"] == "unreachable"
    assert case["outcome"] == "terminated"
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    unreached = [
        e["data"]["attempt"] for e in history["events"] if e["type"] == "callback_unreached"
    ]
    assert unreached == [1, 2, 3]


@SQLITE_ONLY
async def test_a_referred_complaint_ends_at_triage(stack: Stack) -> None:
    case_no = await register(stack)
    await complete(
        stack,
        case_no,
        "triage",
        "operator",
        {"decision": "refer", "to": "池州市文化和旅游局", "reason": "属旅游主管部门职责"},
    )
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "referred"
    assert case["unit"] is None
    result = await stack.client.get_workflow_handle_for(
        ComplaintWorkflow.run, workflow_id(case_no)
    ).result()
    assert result.status == "referred"


@SQLITE_ONLY
async def test_an_unsatisfied_callback_is_sent_back_for_redo_then_confirmed(stack: Stack) -> None:
    case_no = await register(stack)
    await complete(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    agreement = {"outcome": "agreement", "summary": "商家同意维修", "reply": "已维修"}
    await complete(stack, case_no, "handle", "guichi", agreement)
    await complete(
        stack, case_no, "callback", "operator", {"reached": True, "satisfaction": "unsatisfied"}
    )
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "callback"

    review = await open_task(stack, case_no, "review", "supervisor")
    assert review["context"]["unit"] == "guichi"
    await complete(stack, case_no, "review", "supervisor", {"decision": "redo", "reason": "未退款"})
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "handling"
    assert len([d for d in case["deadlines"] if d["name"] == "handle"]) == 2

    await complete(stack, case_no, "handle", "guichi", agreement)
    await complete(
        stack, case_no, "callback", "operator", {"reached": True, "satisfaction": "unsatisfied"}
    )
    await complete(
        stack, case_no, "review", "supervisor", {"decision": "confirm", "reason": "已依法处理"}
    )
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "closed"
    assert case["satisfaction"] == "unsatisfied"
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    types = [e["type"] for e in history["events"]]
    assert types.count("sent_back_for_redo") == 1 and "handling_confirmed" in types
