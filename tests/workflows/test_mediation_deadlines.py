"""The mediation ladder's deadlines on the time-skipping server: days pass in milliseconds.

A time that ends its step by law (administrative mediation after 45 working days, the 30
days to apply for judicial confirmation, a station's time to settle) ends it when it
passes; the branch's own duties (telling both parties of a termination, chasing a
committee) are chased by the supervision ladder; a court's time is only watched.
"""

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest_asyncio
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from api.supervision.models import SupervisionRecord
from api.workdays import WorkingCalendar
from tests.conftest import Database, Stack, open_task, running_stack
from tests.factories import complaint, eventually
from tests.mediation import (
    accepted,
    case_of,
    deadline,
    event_types,
    to_committee,
    to_court,
    to_window,
)


@pytest_asyncio.fixture
async def skipping_stack(
    sqlite_database: Database, skipping_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    async with running_stack(sqlite_database, skipping_env.client) as stack:
        yield stack


async def skip_past(env: WorkflowEnvironment, instant: str, by: timedelta) -> None:
    """Lets time pass on the test server until ``by`` after ``instant``."""
    now = await env.get_current_time()
    await env.sleep(max(datetime.fromisoformat(instant) + by - now, timedelta(seconds=1)))


async def open_tasks(stack: Stack, case_no: str, kind: str) -> list[dict[str, Any]]:
    response = await stack.call(
        "GET",
        "/api/v1/tasks",
        "supervisor",
        params={"case_no": case_no, "kind": kind, "status": "open"},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def supervision(stack: Stack, case_no: str) -> list[tuple[str, str | None]]:
    with stack.db() as session:
        rows = session.exec(
            select(SupervisionRecord).where(SupervisionRecord.case_no == case_no)
        ).all()
        return [(r.kind, r.deadline) for r in rows]


async def test_administrative_mediation_ends_by_law_after_45_working_days(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no = await accepted(stack, "qingyang")
    handle = await deadline(stack, case_no, "handle")
    task = await open_task(stack, case_no, "handle", "qingyang")

    await skip_past(env, handle["warn_at"], timedelta(hours=1))
    await eventually(lambda: _has(stack, case_no, "deadline_reminder"), timeout=20)
    assert supervision(stack, case_no) == [], "a reminder, not a supervision mark"

    await skip_past(env, handle["due_at"], timedelta(hours=1))
    notice = await eventually(lambda: open_tasks(stack, case_no, "notify_termination"), timeout=20)
    case = await case_of(stack, case_no)
    assert case["status"] == "handling" and not case["overdue"]
    ended = next(d for d in case["deadlines"] if d["name"] == "handle")
    assert ended["state"] == "met", "ending by law is not being late"
    (rung,) = case["mediation"]["rungs"]
    assert rung["outcome"] == "terminated"
    assert (rung["details"]["ground"], rung["details"]["expired"]) == ("T21-5", True)
    cancelled = (await stack.call("GET", f"/api/v1/tasks/{task['id']}", "qingyang")).json()
    assert cancelled["status"] == "cancelled"
    assert await open_tasks(stack, case_no, "supervise") == []
    types = await event_types(stack, case_no)
    assert "deadline_expired" in types and "deadline_overdue" not in types

    # Both parties must be told within 7 working days of the last day: that is chased.
    told = await deadline(stack, case_no, "termination_notice")
    last_day = date.fromisoformat(handle["due_date"])
    assert told["due_date"] == WorkingCalendar().add_working_days(last_day, 7).end.isoformat()
    assert notice[0]["due_at"] == told["due_at"]
    await skip_past(env, told["due_at"], timedelta(hours=1))
    supervise = await eventually(lambda: open_tasks(stack, case_no, "supervise"), timeout=20)
    assert supervise[0]["context"]["deadline"] == "termination_notice"
    assert supervise[0]["context"]["unit"] == "qingyang"
    assert (await case_of(stack, case_no))["overdue"]


async def test_testing_or_appraisal_holds_the_45_days(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no = await accepted(stack, "shitai")
    handle = await deadline(stack, case_no, "handle")
    paused = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/handle/pause",
        "shitai",
        json={"reason": "样品送省产品质量监督检验研究院检测"},
    )
    assert paused.status_code == 200, paused.text

    await skip_past(env, handle["due_at"], timedelta(days=10))
    case = await case_of(stack, case_no)
    assert case["mediation"]["stage"] == "mediating", "the clock stood while it was tested"
    assert "deadline_expired" not in await event_types(stack, case_no)

    resumed = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/deadlines/handle/resume", "shitai", json={}
    )
    assert resumed.status_code == 200, resumed.text
    # The API counts the pause by the wall clock (seconds here) while the test server's
    # clock is far past the last day: the mediation ends at once, as soon as it runs again.
    # (How many working days a pause adds: tests/api/test_deadline_actions.py.)
    await eventually(lambda: open_tasks(stack, case_no, "notify_termination"), timeout=20)
    assert "deadline_expired" in await event_types(stack, case_no)


async def test_the_30_days_to_apply_for_judicial_confirmation_close_with_the_agreement_standing(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no = await to_window(stack)
    window = await deadline(stack, case_no, "judicial_confirmation")
    assert window["policy"] == "expire"

    await skip_past(env, window["warn_at"], timedelta(hours=1))
    reminded = await eventually(lambda: _has(stack, case_no, "deadline_reminder"), timeout=20)
    assert reminded["data"]["name"] == "judicial_confirmation"
    assert (await case_of(stack, case_no))["mediation"]["stage"] == "window"

    await skip_past(env, window["due_at"], timedelta(hours=1))
    callback = await eventually(lambda: open_tasks(stack, case_no, "callback"), timeout=20)
    assert callback[0]["unit"] == "city"
    case = await case_of(stack, case_no)
    assert (case["status"], case["outcome"]) == ("replied", "agreement")
    assert case["mediation"]["rungs"][-1]["rung"] == "judicial"
    assert case["mediation"]["rungs"][-1]["outcome"] == "window_expired"
    assert await open_tasks(stack, case_no, "judicial_application") == []


async def test_a_committee_that_is_late_is_chased(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no = await to_committee(stack)
    chased = await deadline(stack, case_no, "people_mediation")

    await skip_past(env, chased["due_at"], timedelta(hours=1))
    supervise = await eventually(lambda: open_tasks(stack, case_no, "supervise"), timeout=20)
    assert supervise[0]["context"]["deadline"] == "people_mediation"
    assert ("overdue", "people_mediation") in supervision(stack, case_no)
    urged = await stack.call(
        "POST",
        f"/api/v1/tasks/{supervise[0]['id']}/complete",
        "supervisor",
        json={"action": "urge", "note": "请督促调解委员会尽快调结"},
    )
    assert urged.status_code == 200, urged.text
    assert ("urge", "people_mediation") in supervision(stack, case_no)
    assert (await case_of(stack, case_no))["mediation"]["stage"] == "committee"


async def test_a_late_court_is_watched_and_nobody_is_chased(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    case_no = await to_court(stack)
    ruling = await deadline(stack, case_no, "court_ruling")

    await skip_past(env, ruling["due_at"], timedelta(hours=1))
    lapsed = await eventually(lambda: _has(stack, case_no, "deadline_lapsed"), timeout=20)
    assert lapsed["data"]["name"] == "court_ruling"
    case = await case_of(stack, case_no)
    assert not case["overdue"], "a court's time does not make the bureau late"
    assert await open_tasks(stack, case_no, "supervise") == []
    overdue = await stack.call("GET", "/api/v1/supervision/overdue", "supervisor")
    assert case_no not in {row["case_no"] for row in overdue.json()["data"]}
    assert await open_tasks(stack, case_no, "court_ruling"), "the branch still enters the ruling"


async def test_a_station_that_does_not_settle_in_time_hands_the_dispute_to_the_centre(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, env = skipping_stack, skipping_env
    created = await stack.call(
        "POST", "/api/v1/cases", "st-wanda", json=complaint(channel="station")
    )
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    await open_task(stack, case_no, "reconcile", "st-wanda")
    limit = await deadline(stack, case_no, "reconcile")

    await skip_past(env, limit["due_at"], timedelta(hours=1))
    triage = await eventually(lambda: open_tasks(stack, case_no, "triage"), timeout=20)
    assert triage[0]["unit"] == "city"
    case = await case_of(stack, case_no)
    assert case["status"] == "triage"
    assert case["mediation"]["rungs"][0]["outcome"] == "expired"


async def _has(stack: Stack, case_no: str, type_: str) -> dict[str, Any] | None:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")
    return next((e for e in response.json()["events"] if e["type"] == type_), None)
