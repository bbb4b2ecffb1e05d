"""Extensions (asked by the handler, decided by a supervisor), returns to triage (退回)
and hand-downs (交办) that carry their sender's deadline."""

from datetime import date, timedelta
from typing import Any

import pytest

from api.workdays import WorkingCalendar
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task, register
from tests.factories import eventually

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def complete(stack: Stack, task_id: int, as_: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await stack.call("POST", f"/api/v1/tasks/{task_id}/complete", as_, json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def accepted_to(stack: Stack, unit: str, **overrides: Any) -> str:
    case_no = await register(stack, **overrides)
    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": unit})
    return case_no


async def deadline(stack: Stack, case_no: str, name: str) -> dict[str, Any]:
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    return next(d for d in reversed(case["deadlines"]) if d["name"] == name)  # type: ignore[no-any-return]


async def history_types(stack: Stack, case_no: str) -> list[str]:
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    return [e["type"] for e in events["events"]]


async def test_an_approved_extension_moves_the_deadline_and_a_refused_one_does_not(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted_to(stack, "guichi")
    before = await deadline(stack, case_no, "handle")

    asked = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/handle/extension",
        "guichi",
        json={"working_days": 10, "reason": "需委托鉴定"},
    )
    assert asked.status_code == 200, asked.text
    approval = await open_task(stack, case_no, "approve_extension", "supervisor")
    assert approval["context"]["working_days"] == 10
    assert approval["context"]["requested_by"] == "guichi"
    # The handler cannot decide their own request.
    refused_role = await stack.call(
        "POST",
        f"/api/v1/tasks/{approval['id']}/complete",
        "guichi",
        json={"approve": True, "reason": "x"},
    )
    assert refused_role.status_code in (403, 404)

    await complete(stack, approval["id"], "supervisor", {"approve": True, "reason": "同意延期"})
    after = await deadline(stack, case_no, "handle")
    expected = WorkingCalendar().add_working_days(date.fromisoformat(before["due_date"]), 10).end
    assert after["due_date"] == expected.isoformat()
    assert after["extended_working_days"] == 10
    types = await history_types(stack, case_no)
    assert "extension_requested" in types and "extension_approved" in types
    assert "deadline_changed" in types

    again = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/handle/extension",
        "guichi",
        json={"working_days": 5, "reason": "再次申请"},
    )
    assert again.status_code == 200, again.text
    second = await open_task(stack, case_no, "approve_extension", "supervisor")
    await complete(stack, second["id"], "supervisor", {"approve": False, "reason": "理由不充分"})
    assert (await deadline(stack, case_no, "handle"))["due_date"] == expected.isoformat()
    assert "extension_refused" in await history_types(stack, case_no)

    other_unit = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/handle/extension",
        "dongzhi",
        json={"working_days": 5, "reason": "x"},
    )
    assert other_unit.status_code == 404
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_branch_returns_a_wrongly_dispatched_case_to_triage(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted_to(stack, "dongzhi")
    handle = await open_task(stack, case_no, "handle", "dongzhi")
    await complete(
        stack,
        handle["id"],
        "dongzhi",
        {"outcome": "return", "reason": "被投诉人在贵池区，非本局管辖"},
    )
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "triage"
    assert case["unit"] is None
    types = await history_types(stack, case_no)
    assert "returned" in types
    retriage = await open_task(stack, case_no, "triage", "operator")
    assert retriage["id"] != handle["id"]
    await complete(stack, retriage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    handled = await open_task(stack, case_no, "handle", "guichi")
    assert handled["unit"] == "guichi"
    assert (await stack.call("GET", f"/api/v1/cases/{case_no}", "dongzhi")).status_code == 404
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_hand_down_carries_its_senders_deadline(stack: Stack, responses: list[Any]) -> None:
    sender_due = (date.today() + timedelta(days=20)).isoformat()
    missing = await stack.call(
        "POST",
        "/api/v1/cases",
        "operator",
        json={
            "kind": "complaint",
            "channel": "hand_down",
            "complainant": {"name": "王五", "phone": "13700000000"},
            "respondent": {"name": "某景区", "district": "九华山风景区"},
            "description": "省局交办件",
        },
    )
    assert missing.status_code == 422
    assert "sender" in missing.text

    case_no = await accepted_to(
        stack,
        "jiuhuashan",
        channel="hand_down",
        sender={
            "authority": "安徽省市场监督管理局",
            "reference": "皖市监交〔2026〕12号",
            "due_date": sender_due,
        },
        respondent={"name": "某景区", "district": "九华山风景区"},
    )
    handle = await deadline(stack, case_no, "handle")
    assert handle["due_date"] == sender_due
    assert handle["fixed"] is True
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["sender"]["authority"] == "安徽省市场监督管理局"
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_pause_stops_the_clock_and_a_resume_restarts_it(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted_to(stack, "shitai")
    before = await deadline(stack, case_no, "handle")
    wrong_state = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/deadlines/handle/resume", "shitai", json={}
    )
    assert wrong_state.status_code == 409
    paused = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/handle/pause",
        "shitai",
        json={"reason": "送检"},
    )
    assert paused.status_code == 200, paused.text
    assert (await deadline(stack, case_no, "handle"))["state"] == "paused"
    twice = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/deadlines/handle/pause", "shitai", json={"reason": "x"}
    )
    assert twice.status_code == 409
    resumed = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/deadlines/handle/resume", "shitai", json={}
    )
    assert resumed.status_code == 200, resumed.text
    after = await deadline(stack, case_no, "handle")
    assert after["state"] == "pending"
    # Paused and resumed the same day: no working day stood still.
    assert after["paused_working_days"] == 0
    assert after["due_date"] == before["due_date"]
    types = await eventually(lambda: history_types(stack, case_no))
    assert "clock_paused" in types and "clock_resumed" in types
    assert_no_server_error(responses)
