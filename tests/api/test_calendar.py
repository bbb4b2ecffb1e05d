"""The calendar routes: the package's years, the admin's table, and the recomputation it
triggers. The 2027 arrangement below is invented: the State Council has not published it.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlmodel import select

from api.calendar.models import CalendarYear
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import Case
from api.deadlines.models import Deadline
from api.main import create_app, prepare_database
from api.workdays import deadline_instant
from tests.api.conftest import assert_no_server_error
from tests.conftest import Database, Stack, open_task, register
from tests.factories import eventually

CALENDAR = "/api/v1/calendar"
# Checks that do not depend on the backend run on SQLite only, to keep the suite quick.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

ARRANGEMENT_2027 = {"holidays": ["2027-01-01"], "workdays": ["2027-01-09"]}  # Fri off, Sat on


async def get_year(stack: Stack, year: int, as_: str = "operator") -> dict[str, Any]:
    response = await stack.call("GET", f"{CALENDAR}/{year}", as_)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def changes(stack: Stack, year: int, as_: str = "auditor") -> list[dict[str, Any]]:
    response = await stack.call("GET", f"{CALENDAR}/{year}/changes", as_)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


@SQLITE_ONLY
async def test_a_published_year_comes_from_the_package_a_later_one_is_provisional(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    year_2026 = await get_year(stack, 2026)
    assert year_2026["source"] == "package"
    assert "2026-10-01" in year_2026["holidays"]  # National Day
    assert "2026-09-20" in year_2026["workdays"]  # Sunday, 调休上班
    assert "updated_by" not in year_2026

    assert await get_year(stack, 2030) == {
        "year": 2030,
        "source": "provisional",
        "holidays": [],
        "workdays": [],
    }
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_year_out_of_range_is_refused(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    assert (await stack.call("GET", f"{CALENDAR}/2003", "operator")).status_code == 422
    put = await stack.call("PUT", f"{CALENDAR}/2101", "admin", json=ARRANGEMENT_2027)
    assert put.status_code == 422
    assert_no_server_error(responses)


async def test_an_admin_sets_2027_and_the_change_is_recorded(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    response = await stack.call("PUT", f"{CALENDAR}/2027", "admin", json=ARRANGEMENT_2027)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "table"
    assert (body["holidays"], body["workdays"]) == (["2027-01-01"], ["2027-01-09"])
    assert body["updated_by"] == "admin"
    assert (body["recomputing"], body["recompute_pending"]) == ([], False)
    shown = await get_year(stack, 2027)
    assert shown["source"] == "table"
    assert shown["updated_by"] == "admin"
    assert shown["holidays"] == ["2027-01-01"]

    changed = await changes(stack, 2027, "auditor")
    assert [(c["by"], c["before"], c["after"]) for c in changed] == [
        ("admin", None, ARRANGEMENT_2027)
    ]
    assert await changes(stack, 2027, "supervisor") == changed
    assert await changes(stack, 2028, "admin") == []
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_the_same_arrangement_again_records_no_change(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    for _ in range(2):
        response = await stack.call("PUT", f"{CALENDAR}/2027", "admin", json=ARRANGEMENT_2027)
        assert response.status_code == 200, response.text

    assert len(await changes(stack, 2027)) == 1
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_only_an_admin_sets_a_year(stack: Stack, responses: list[httpx.Response]) -> None:
    for user in ("operator", "supervisor", "auditor"):
        response = await stack.call("PUT", f"{CALENDAR}/2027", user, json=ARRANGEMENT_2027)
        assert response.status_code == 403, (user, response.text)

    assert (await get_year(stack, 2027))["source"] == "provisional"
    assert await changes(stack, 2027, "admin") == []
    only_staff = await stack.call("GET", f"{CALENDAR}/2027/changes", "operator")
    assert only_staff.status_code == 403
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_date_of_another_year_is_refused_by_name(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    body = {"holidays": ["2027-01-01", "2028-01-03"], "workdays": []}
    response = await stack.call("PUT", f"{CALENDAR}/2027", "admin", json=body)

    assert response.status_code == 422
    assert "2028-01-03" in response.text
    assert (await get_year(stack, 2027))["source"] == "provisional"
    assert await changes(stack, 2027, "admin") == []
    assert_no_server_error(responses)


def handle_deadline(case: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in case["deadlines"] if d["name"] == "handle"), None)


@SQLITE_ONLY
async def test_setting_the_year_of_a_provisional_deadline_recomputes_its_case(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    # Accepted now, the 45 working days of handling run into a year the package does not
    # know (from November 2026 on), so the deadline is counted Mon–Fri, provisionally.
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    accepted = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert accepted.status_code == 200, accepted.text

    async def provisional_handle_deadline() -> dict[str, Any] | None:
        case = await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")
        assert case.status_code == 200, case.text
        return handle_deadline(case.json())

    deadline = await eventually(provisional_handle_deadline)
    assert deadline["provisional"] is True
    year = date.fromisoformat(deadline["due_date"]).year

    response = await stack.call(
        "PUT", f"{CALENDAR}/{year}", "admin", json={"holidays": [], "workdays": []}
    )

    assert response.status_code == 200, response.text
    assert response.json()["recomputing"] == [case_no]
    assert response.json()["recompute_pending"] is False
    assert_no_server_error(responses)


@pytest_asyncio.fixture
async def without_temporal(sqlite_database: Database) -> AsyncIterator[Stack]:
    """The API alone, its Temporal address pointing where nothing listens."""
    settings = sqlite_database.settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    app = create_app(settings, engine=sqlite_database.engine)
    await asyncio.to_thread(prepare_database, sqlite_database.engine, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as api:
        yield Stack(api, None, settings, sqlite_database.engine, {})  # type: ignore[arg-type]


def open_provisional_deadline(stack: Stack, case_no: str) -> None:
    """A case whose handle deadline was counted into 2027 before 2027 was known."""
    with stack.db() as session:
        session.add(
            Case(
                case_no=case_no,
                kind=CaseKind.COMPLAINT,
                channel=Channel.HOTLINE,
                status=Status.HANDLING,
                unit="guichi",
                received_at=datetime(2026, 11, 2, tzinfo=UTC),
                registered_by="operator",
                registered_unit="city",
                rule_set="samr-order-121",
            )
        )
        session.add(
            Deadline(
                case_no=case_no,
                name="handle",
                unit="guichi",
                started_on=date(2026, 11, 30),
                working_days=45,
                due_date=date(2027, 2, 1),
                due_at=deadline_instant(date(2027, 2, 1)),
                provisional=True,
                rule_set="samr-order-121",
            )
        )
        session.commit()


async def test_without_temporal_the_year_is_saved_and_the_recompute_is_pending(
    without_temporal: Stack,
) -> None:
    stack = without_temporal
    open_provisional_deadline(stack, "TS-PENDING")

    response = await stack.call("PUT", f"{CALENDAR}/2027", "admin", json=ARRANGEMENT_2027)

    assert response.status_code == 200, response.text
    assert response.json()["recomputing"] == ["TS-PENDING"]
    assert response.json()["recompute_pending"] is True
    with stack.db() as session:
        stored = session.exec(select(CalendarYear)).one()
    assert (stored.year, stored.holidays) == (2027, ["2027-01-01"])
    assert (await get_year(stack, 2027))["source"] == "table"
