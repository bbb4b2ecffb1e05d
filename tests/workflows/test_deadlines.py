"""Deadlines on the time-skipping test server: days pass in milliseconds."""

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.workdays import ZONE, WorkingCalendar
from tests.conftest import Database, Stack, register, running_stack
from tests.factories import eventually


@pytest_asyncio.fixture
async def skipping_stack(
    sqlite_database: Database, skipping_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    async with running_stack(sqlite_database, skipping_env.client) as stack:
        yield stack


async def case_of(stack: Stack, case_no: str) -> dict[str, Any]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")
    assert response.status_code == 200, response.text
    return response.json()


async def tasks_of(
    stack: Stack, case_no: str, kind: str, status: str = "open"
) -> list[dict[str, Any]]:
    response = await stack.call(
        "GET",
        "/api/v1/tasks",
        "supervisor",
        params={"case_no": case_no, "kind": kind, "status": status},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_a_complaint_received_20_working_days_ago_is_overdue_at_once(
    skipping_stack: Stack,
) -> None:
    received = datetime.now(ZONE) - timedelta(days=30)
    case_no = await register(skipping_stack, received_at=received.isoformat())

    async def overdue() -> dict[str, Any] | None:
        case = await case_of(skipping_stack, case_no)
        return case if case["overdue"] else None

    case = await eventually(overdue)
    triage = next(d for d in case["deadlines"] if d["name"] == "triage")
    assert triage["state"] == "overdue"
    expected = WorkingCalendar().add_working_days(received.date(), 7).end
    assert triage["due_date"] == expected.isoformat()

    supervise = await eventually(lambda: tasks_of(skipping_stack, case_no, "supervise"))
    assert supervise[0]["unit"] == "city"
    assert supervise[0]["context"]["deadline"] == "triage"

    urged = await skipping_stack.call(
        "POST",
        f"/api/v1/tasks/{supervise[0]['id']}/complete",
        "supervisor",
        json={"action": "urge", "note": "请尽快受理"},
    )
    assert urged.status_code == 200, urged.text

    history = (
        await skipping_stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")
    ).json()
    overdue_events = [e for e in history["events"] if e["type"] == "deadline_overdue"]
    assert len(overdue_events) == 1
    assert overdue_events[0]["data"]["name"] == "triage"
    assert [e["actor"] for e in history["events"] if e["type"] == "urged"] == ["supervisor"]


async def test_triage_deadline_passes_on_its_timer_and_meeting_it_late_clears_the_flag(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    case_no = await register(skipping_stack)
    triage_task = (await eventually(lambda: tasks_of(skipping_stack, case_no, "triage")))[0]
    assert not (await case_of(skipping_stack, case_no))["overdue"]

    await skipping_env.sleep(timedelta(days=6))
    assert not (await case_of(skipping_stack, case_no))["overdue"], (
        "7 working days span more than 6 days"
    )

    await skipping_env.sleep(timedelta(days=14))

    async def overdue() -> bool:
        return bool((await case_of(skipping_stack, case_no))["overdue"])

    await eventually(overdue)
    supervise = await eventually(lambda: tasks_of(skipping_stack, case_no, "supervise"))

    done = await skipping_stack.call(
        "POST",
        f"/api/v1/tasks/{triage_task['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "dongzhi"},
    )
    assert done.status_code == 200, done.text
    case = await case_of(skipping_stack, case_no)
    assert case["status"] == "handling"
    assert not case["overdue"]
    triage = next(d for d in case["deadlines"] if d["name"] == "triage")
    assert triage["state"] == "overdue", "a deadline met late stays on record as missed"
    cancelled = await tasks_of(skipping_stack, case_no, "supervise", status="cancelled")
    assert [t["id"] for t in cancelled] == [supervise[0]["id"]]


async def test_supervisor_extends_then_reassigns_an_overdue_handling(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    # A hand-down's handling date is chased by the supervision ladder (the statutory 45
    # days of mediation end the mediation instead: test_mediation_deadlines.py).
    sender_due = WorkingCalendar().add_working_days(datetime.now(ZONE).date(), 45).end
    case_no = await register(
        skipping_stack,
        channel="hand_down",
        sender={"authority": "安徽省市场监督管理局", "due_date": sender_due.isoformat()},
    )
    triage_task = (await eventually(lambda: tasks_of(skipping_stack, case_no, "triage")))[0]
    accepted = await skipping_stack.call(
        "POST",
        f"/api/v1/tasks/{triage_task['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert accepted.status_code == 200, accepted.text

    await skipping_env.sleep(timedelta(days=80))  # 45 working days are about 63 days

    supervise = (await eventually(lambda: tasks_of(skipping_stack, case_no, "supervise")))[0]
    assert supervise["context"]["deadline"] == "handle"
    assert supervise["context"]["unit"] == "guichi"
    case = await case_of(skipping_stack, case_no)
    assert case["overdue"]
    handle = next(d for d in case["deadlines"] if d["name"] == "handle")
    assert handle["state"] == "overdue"

    extended = await skipping_stack.call(
        "POST",
        f"/api/v1/tasks/{supervise['id']}/complete",
        "supervisor",
        json={"action": "extend", "working_days": 30, "reason": "需鉴定检测"},
    )
    assert extended.status_code == 200, extended.text
    case = await case_of(skipping_stack, case_no)
    assert not case["overdue"]
    moved = next(d for d in case["deadlines"] if d["name"] == "handle")
    assert moved["state"] == "pending"
    expected = WorkingCalendar().add_working_days(date.fromisoformat(handle["due_date"]), 30).end
    assert moved["due_date"] == expected.isoformat()
    history = (
        await skipping_stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")
    ).json()
    assert any(e["type"] == "deadline_extended" for e in history["events"])

    await skipping_env.sleep(timedelta(days=60))  # past the extended deadline too

    async def second_supervision() -> list[dict[str, Any]]:
        return [
            t
            for t in await tasks_of(skipping_stack, case_no, "supervise")
            if t["id"] != supervise["id"]
        ]

    again = (await eventually(second_supervision))[0]
    reassigned = await skipping_stack.call(
        "POST",
        f"/api/v1/tasks/{again['id']}/complete",
        "supervisor",
        json={"action": "reassign", "unit": "dongzhi", "reason": "属地调整"},
    )
    assert reassigned.status_code == 200, reassigned.text
    case = await case_of(skipping_stack, case_no)
    assert case["unit"] == "dongzhi"
    dongzhi_inbox = await skipping_stack.call(
        "GET", "/api/v1/tasks", "dongzhi", params={"case_no": case_no}
    )
    assert [t["kind"] for t in dongzhi_inbox.json()["data"]] == ["handle"]
    guichi_view = await skipping_stack.call("GET", f"/api/v1/cases/{case_no}", "guichi")
    assert guichi_view.status_code == 404
