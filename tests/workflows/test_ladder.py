"""The supervision ladder (督办), rung by rung, on the time-skipping server, on the
handling deadline a hand-down's sender set.

T−2 working days a warning (预警); T overdue with a supervise task; T+1 working day a
chase notice (催办通知书); five working days later a criticism (通报批评) and an
accountability record (责任追究) naming the handler who held the task. Meeting the
deadline stops the ladder wherever it is.
"""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest_asyncio
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from api.deadlines.reckoning import working_day_before
from api.supervision.models import SupervisionRecord
from api.workdays import ZONE, WorkingCalendar, deadline_instant
from tests.conftest import Database, Stack, open_task, register, running_stack
from tests.factories import eventually


@pytest_asyncio.fixture
async def skipping_stack(
    sqlite_database: Database, skipping_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    async with running_stack(sqlite_database, skipping_env.client) as stack:
        yield stack


async def skip_to(env: WorkflowEnvironment, instant: datetime, after: timedelta) -> None:
    """Lets time pass on the test server until ``after`` past ``instant``."""
    now = await env.get_current_time()
    await env.sleep(max(instant + after - now, timedelta(seconds=1)))


async def events(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")
    assert response.status_code == 200, response.text
    return response.json()["events"]  # type: ignore[no-any-return]


async def event_types(stack: Stack, case_no: str) -> list[str]:
    return [e["type"] for e in await events(stack, case_no)]


def records(stack: Stack, case_no: str) -> list[tuple[str, str, str | None]]:
    with stack.db() as session:
        rows = session.exec(
            select(SupervisionRecord)
            .where(SupervisionRecord.case_no == case_no)
            .order_by(col(SupervisionRecord.id))
        ).all()
        return [(r.kind, r.unit, r.handler) for r in rows]


async def handling_case(stack: Stack, unit: str) -> tuple[str, dict[str, Any]]:
    """A hand-down (交办) accepted to ``unit`` whose handler has claimed the handle task.

    Its handle deadline is the sender's date, which the supervision ladder chases; the
    statutory 45 days of mediation instead end the mediation by law when they pass
    (tests/workflows/test_mediation_deadlines.py).
    """
    calendar = WorkingCalendar()
    sender_due = calendar.add_working_days(datetime.now(ZONE).date(), 20).end
    case_no = await register(
        stack,
        channel="hand_down",
        sender={"authority": "安徽省市场监督管理局", "due_date": sender_due.isoformat()},
    )
    triage = await open_task(stack, case_no, "triage", "operator")
    accepted = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": unit},
    )
    assert accepted.status_code == 200, accepted.text
    handle = await open_task(stack, case_no, "handle", unit)
    claimed = await stack.call("POST", f"/api/v1/tasks/{handle['id']}/claim", unit)
    assert claimed.status_code == 200, claimed.text
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    deadline = next(d for d in case["deadlines"] if d["name"] == "handle")
    return case_no, deadline


async def test_each_rung_of_the_ladder_in_turn(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no, handle = await handling_case(stack, "guichi")
    calendar = WorkingCalendar()
    last_day = datetime.fromisoformat(handle["due_date"]).date()
    warn_at = deadline_instant(working_day_before(calendar, last_day, 2))
    notice_day = calendar.add_working_days(last_day, 1).end
    criticism_day = calendar.add_working_days(notice_day, 5).end
    assert datetime.fromisoformat(handle["warn_at"]) == warn_at
    assert datetime.fromisoformat(handle["notice_at"]) == deadline_instant(notice_day)
    assert datetime.fromisoformat(handle["criticise_at"]) == deadline_instant(criticism_day)

    await skip_to(env, warn_at, -timedelta(hours=2))
    assert "deadline_warning" not in await event_types(stack, case_no)

    await skip_to(env, warn_at, timedelta(hours=1))
    warned = await eventually(lambda: _with(stack, case_no, "deadline_warning"), timeout=20)
    assert warned["data"]["unit"] == "guichi"
    assert "deadline_overdue" not in await event_types(stack, case_no)
    assert records(stack, case_no) == [("warning", "guichi", "guichi")]

    await skip_to(env, datetime.fromisoformat(handle["due_at"]), timedelta(hours=1))
    await eventually(lambda: _with(stack, case_no, "deadline_overdue"), timeout=20)
    supervise = await open_task(stack, case_no, "supervise", "supervisor")
    assert supervise["context"]["unit"] == "guichi"
    assert "chase_notice" not in await event_types(stack, case_no)

    await skip_to(env, deadline_instant(notice_day), timedelta(hours=1))
    notice = await eventually(lambda: _with(stack, case_no, "chase_notice"), timeout=20)
    assert notice["data"]["copy_to"] == "guichi-supervisor"
    assert "criticised" not in await event_types(stack, case_no)

    await skip_to(env, deadline_instant(criticism_day), timedelta(hours=1))
    criticised = await eventually(lambda: _with(stack, case_no, "criticised"), timeout=20)
    assert criticised["data"]["handler"] == "guichi"
    assert records(stack, case_no) == [
        ("warning", "guichi", "guichi"),
        ("overdue", "guichi", "guichi"),
        ("notice", "guichi", "guichi"),
        ("criticism", "guichi", None),
        ("accountability", "guichi", "guichi"),
    ]
    # Every record a supervisor can see has its event in the case's history.
    types = await event_types(stack, case_no)
    for kind in ("warning", "overdue", "notice", "criticism", "accountability"):
        assert RECORD_EVENTS[kind] in types, kind
    blamed = await eventually(lambda: _with(stack, case_no, "accountability"), timeout=20)
    assert blamed["data"]["handler"] == "guichi"
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    assert case["overdue"]
    assert next(d for d in case["deadlines"] if d["name"] == "handle")["rungs"] == [
        "warning",
        "notice",
        "criticism",
    ]


# The history's event for each kind of supervision record.
RECORD_EVENTS = {
    "warning": "deadline_warning",
    "overdue": "deadline_overdue",
    "notice": "chase_notice",
    "criticism": "criticised",
    "accountability": "accountability",
    "urge": "urged",
}


async def test_meeting_the_deadline_stops_the_ladder(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no, handle = await handling_case(stack, "dongzhi")
    await skip_to(env, datetime.fromisoformat(handle["warn_at"]), timedelta(hours=1))
    await eventually(lambda: _with(stack, case_no, "deadline_warning"), timeout=20)

    task = (
        await stack.call(
            "GET", "/api/v1/tasks", "dongzhi", params={"case_no": case_no, "status": "claimed"}
        )
    ).json()["data"][0]
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{task['id']}/complete",
        "dongzhi",
        json={"outcome": "agreement", "summary": "商家退款", "reply": "已退款"},
    )
    assert done.status_code == 200, done.text

    await skip_to(env, datetime.fromisoformat(handle["criticise_at"]), timedelta(days=2))
    handle_rungs = [
        e["type"]
        for e in await events(stack, case_no)
        if e["type"] in ("deadline_warning", "deadline_overdue", "chase_notice", "criticised")
        and e["data"]["name"] == "handle"
    ]
    assert handle_rungs == ["deadline_warning"]
    assert [kind for kind, unit, _ in records(stack, case_no) if unit == "dongzhi"] == ["warning"]


async def test_a_paused_clock_holds_the_ladder_until_it_resumes(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no, handle = await handling_case(stack, "qingyang")
    paused = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/handle/pause",
        "qingyang",
        json={"reason": "样品送省质检院检测"},
    )
    assert paused.status_code == 200, paused.text
    assert next(d for d in paused.json()["deadlines"] if d["name"] == "handle")["state"] == "paused"

    await skip_to(env, datetime.fromisoformat(handle["criticise_at"]), timedelta(days=3))
    types = await event_types(stack, case_no)
    assert "deadline_warning" not in types and "deadline_overdue" not in types

    resumed = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/deadlines/handle/resume", "qingyang", json={}
    )
    assert resumed.status_code == 200, resumed.text
    # The test server's clock is far past the last day now, so the ladder resumes at once.
    await eventually(lambda: _with(stack, case_no, "deadline_overdue"), timeout=20)
    assert "clock_paused" in types and "clock_resumed" in await event_types(stack, case_no)


async def _with(stack: Stack, case_no: str, type_: str) -> dict[str, Any] | None:
    return next((e for e in await events(stack, case_no) if e["type"] == type_), None)
