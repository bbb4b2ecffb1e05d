"""A calendar year published by an admin recomputes every open deadline in it, through
the case workflows: a provisional deadline becomes firm and the history says old → new."""

from datetime import date, timedelta
from typing import Any

import pytest

from api.workdays import WorkingCalendar, YearArrangement
from tests.conftest import Stack, open_task, register
from tests.factories import eventually

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def handle_deadline(stack: Stack, case_no: str) -> dict[str, Any]:
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    return next(d for d in case["deadlines"] if d["name"] == "handle")  # type: ignore[no-any-return]


@SQLITE_ONLY
async def test_publishing_the_next_year_makes_a_provisional_deadline_firm(stack: Stack) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    before = await handle_deadline(stack, case_no)
    last_day = date.fromisoformat(before["due_date"])
    year = last_day.year
    if WorkingCalendar().source(year) != "provisional":
        pytest.skip(f"the package knows {year}: no provisional deadline to make firm")
    assert before["provisional"] is True

    # The published arrangement puts a holiday on the (weekday) last day itself.
    holiday = last_day if last_day.weekday() < 5 else last_day - timedelta(days=2)
    put = await stack.call(
        "PUT",
        f"/api/v1/calendar/{year}",
        "admin",
        json={"holidays": [holiday.isoformat()], "workdays": []},
    )
    assert put.status_code == 200, put.text
    assert case_no in put.json()["recomputing"]

    async def firm() -> dict[str, Any] | None:
        deadline = await handle_deadline(stack, case_no)
        return deadline if not deadline["provisional"] else None

    after = await eventually(firm, timeout=20)
    published = WorkingCalendar({year: YearArrangement(year, frozenset({holiday}), frozenset())})
    expected = published.add_working_days(date.fromisoformat(before["started_on"]), 45)
    assert expected.provisional is False
    assert after["due_date"] == expected.end.isoformat()
    assert after["due_date"] > before["due_date"]

    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    changed = [e["data"] for e in history["events"] if e["type"] == "deadline_changed"]
    assert len(changed) == 1
    assert changed[0]["reason"] == "calendar changed"
    assert changed[0]["old"]["provisional"] is True and changed[0]["new"]["provisional"] is False
    assert changed[0]["old"]["due_date"] == before["due_date"]
    assert changed[0]["new"]["due_date"] == after["due_date"]
