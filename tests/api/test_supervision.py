"""The supervisors' views: overdue deadlines, deadlines due soon, the bulletin figures and
the accountability records, and who may see which unit's.

The data comes through the API: complaints received weeks ago are overdue at once, others
are accepted for guichi or dongzhi and walked to closed. Two things are set directly in the
database, the read model these views query: handle deadlines moved into the past (45
working days cannot pass in a test; the timers themselves are tested in
tests/workflows/test_deadlines.py), and supervision records for the accountability view.

Every response is recorded; each test ends by checking that none was a server error.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from api.casefile.models import Case
from api.deadlines.models import Deadline, DeadlineState
from api.supervision import rollup
from api.supervision.models import SupervisionKind, SupervisionRecord
from api.tasks.models import Task
from api.workdays import ZONE, WorkingCalendar, deadline_instant
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task, register
from tests.factories import eventually

SUPERVISION = "/api/v1/supervision"
TASKS = "/api/v1/tasks"
BRANCHES = ["dongzhi", "guichi", "jiuhuashan", "kaifaqu", "qingyang", "shitai"]

# Checks that do not depend on the backend run on SQLite only, to keep the suite quick.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

CALENDAR = WorkingCalendar()


def today() -> date:
    return datetime.now(ZONE).date()


def days_ago(days: int) -> datetime:
    return datetime.now(ZONE) - timedelta(days=days)


# --- building the data -------------------------------------------------------------------


async def complete(stack: Stack, case_no: str, kind: str, as_: str, body: dict[str, Any]) -> None:
    task = await open_task(stack, case_no, kind, as_)
    done = await stack.call("POST", f"{TASKS}/{task['id']}/complete", as_, json=body)
    assert done.status_code == 200, done.text


async def accepted(stack: Stack, unit: str) -> str:
    """A complaint received an hour ago and accepted for ``unit``."""
    case_no = await register(stack)
    await complete(stack, case_no, "triage", "operator", {"decision": "accept", "unit": unit})
    return case_no


async def handled(stack: Stack, case_no: str, unit: str) -> None:
    body = {"outcome": "agreement", "summary": "商家退货退款", "reply": "双方达成协议"}
    await complete(stack, case_no, "handle", unit, body)


async def called_back(stack: Stack, case_no: str, *attempts: dict[str, Any]) -> None:
    for body in attempts:
        await complete(stack, case_no, "callback", "operator", body)


async def closed(stack: Stack, unit: str, *attempts: dict[str, Any]) -> str:
    case_no = await accepted(stack, unit)
    await handled(stack, case_no, unit)
    await called_back(stack, case_no, *attempts)
    return case_no


def reached(satisfaction: str) -> dict[str, Any]:
    return {"reached": True, "satisfaction": satisfaction}


UNREACHED = {"reached": False}


def move_deadline(stack: Stack, case_no: str, name: str, due: date, state: DeadlineState) -> None:
    """Sets the deadline's last day, and its state as the workflow would have."""
    with stack.db() as session:
        deadline = session.exec(
            select(Deadline).where(Deadline.case_no == case_no, Deadline.name == name)
        ).one()
        deadline.due_date = due
        deadline.due_at = deadline_instant(due)
        deadline.state = state
        deadline.overdue_at = deadline.due_at if state == DeadlineState.OVERDUE else None
        session.add(deadline)
        for task in session.exec(select(Task).where(Task.deadline_id == deadline.id)).all():
            task.due_at = deadline.due_at
            session.add(task)
        case = session.exec(select(Case).where(Case.case_no == case_no)).one()
        case.overdue = case.overdue or state == DeadlineState.OVERDUE
        session.add(case)
        rollup.refresh(session, case_no)  # as the step that did it would have
        session.commit()


def working_days_ago(n: int) -> date:
    """The day n working days before today (so that n working days have passed since)."""
    day = today()
    while CALENDAR.working_days_between(day, today()) < n:
        day -= timedelta(days=1)
    return day


def record(
    stack: Stack,
    case_no: str,
    unit: str,
    kind: SupervisionKind,
    at: datetime,
    handler: str | None = None,
) -> None:
    with stack.db() as session:
        session.add(
            SupervisionRecord(
                case_no=case_no, unit=unit, kind=kind, at=at, handler=handler, deadline="handle"
            )
        )
        session.flush()
        rollup.refresh(session, case_no)  # as the step that did it would have
        session.commit()


async def get(stack: Stack, path: str, as_: str, **params: Any) -> dict[str, Any]:
    response = await stack.call("GET", f"{SUPERVISION}/{path}", as_, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rows(body: dict[str, Any], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(item[k] for k in keys) for item in body["data"]]


@dataclass
class Bureau:
    """The cases of the supervisors' scenario, by what happened to them."""

    triage_45: str  # received 45 days ago, never triaged: overdue at the centre
    triage_30: str  # received 30 days ago, never triaged
    g_satisfied: str  # guichi: closed, satisfied
    g_unsatisfied: str  # guichi: closed, unsatisfied
    g_unreachable: str  # guichi: closed, three unreached callbacks
    g_late: str  # guichi: handled after its deadline, awaiting the callback
    g_overdue_old: str  # guichi: handling, overdue since 9 working days
    g_overdue_new: str  # guichi: handling, overdue since 3 working days
    d_basic: str  # dongzhi: closed, basically satisfied
    d_overdue: str  # dongzhi: handling, overdue since 14 working days
    d_due_soon: str  # dongzhi: handling, its last day is the next working day
    rejected: str  # rejected at triage: no unit, in no branch's figures


async def bureau(stack: Stack) -> Bureau:
    triage_45 = await register(stack, received_at=days_ago(45).isoformat())
    triage_30 = await register(stack, received_at=days_ago(30).isoformat())
    rejected = await register(stack)
    reject = {"decision": "reject", "ground": "R15-3", "reason": "非生活消费"}
    await complete(stack, rejected, "triage", "operator", reject)

    g_satisfied = await closed(stack, "guichi", reached("satisfied"))
    g_unsatisfied = await closed(stack, "guichi", reached("unsatisfied"))
    # Unsatisfied: the supervisor reviews, and confirms the handling (确认办结).
    await complete(
        stack,
        g_unsatisfied,
        "review",
        "supervisor",
        {"decision": "confirm", "reason": "已依法处理"},
    )
    g_unreachable = await closed(stack, "guichi", UNREACHED, UNREACHED, UNREACHED)
    g_late = await accepted(stack, "guichi")
    move_deadline(stack, g_late, "handle", working_days_ago(4), DeadlineState.OVERDUE)
    await handled(stack, g_late, "guichi")
    g_overdue_old = await accepted(stack, "guichi")
    move_deadline(stack, g_overdue_old, "handle", working_days_ago(9), DeadlineState.OVERDUE)
    g_overdue_new = await accepted(stack, "guichi")
    move_deadline(stack, g_overdue_new, "handle", working_days_ago(3), DeadlineState.OVERDUE)

    d_basic = await closed(stack, "dongzhi", reached("basically_satisfied"))
    d_overdue = await accepted(stack, "dongzhi")
    move_deadline(stack, d_overdue, "handle", working_days_ago(14), DeadlineState.OVERDUE)
    d_due_soon = await accepted(stack, "dongzhi")
    next_working_day = CALENDAR.add_working_days(today(), 1).end
    move_deadline(stack, d_due_soon, "handle", next_working_day, DeadlineState.PENDING)

    # The ladder's records of the branches (the centre's come from the workflows).
    now = datetime.now(UTC)
    record(stack, g_overdue_old, "guichi", SupervisionKind.OVERDUE, now - timedelta(days=12))
    record(stack, g_overdue_old, "guichi", SupervisionKind.NOTICE, now - timedelta(days=11))
    record(stack, g_overdue_new, "guichi", SupervisionKind.WARNING, now - timedelta(days=6))
    record(stack, g_overdue_new, "guichi", SupervisionKind.URGE, now - timedelta(days=90))
    record(stack, d_overdue, "dongzhi", SupervisionKind.CRITICISM, now - timedelta(days=2))
    record(stack, d_overdue, "dongzhi", SupervisionKind.ACCOUNTABILITY, now - timedelta(days=2))

    async def centre_overdue_and_supervised() -> bool:
        body = await get(stack, "overdue", "supervisor", unit="city")
        return body["count"] == 2 and all(item["supervised"] for item in body["data"])

    await eventually(centre_overdue_and_supervised)
    return Bureau(
        triage_45=triage_45,
        triage_30=triage_30,
        g_satisfied=g_satisfied,
        g_unsatisfied=g_unsatisfied,
        g_unreachable=g_unreachable,
        g_late=g_late,
        g_overdue_old=g_overdue_old,
        g_overdue_new=g_overdue_new,
        d_basic=d_basic,
        d_overdue=d_overdue,
        d_due_soon=d_due_soon,
        rejected=rejected,
    )


def triage_due(received_days_ago: int) -> date:
    return CALENDAR.add_working_days(days_ago(received_days_ago).date(), 7).end


# --- the views ---------------------------------------------------------------------------


async def test_the_supervisors_views_of_a_known_bureau(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    b = await bureau(stack)

    # 超期: by unit, oldest first, with the working days since the last day.
    overdue = await get(stack, "overdue", "supervisor")
    expected = [
        (b.triage_45, "city", "triage", triage_due(45), "triage", True),
        (b.triage_30, "city", "triage", triage_due(30), "triage", True),
        (b.d_overdue, "dongzhi", "handle", working_days_ago(14), "handling", False),
        (b.g_overdue_old, "guichi", "handle", working_days_ago(9), "handling", False),
        (b.g_overdue_new, "guichi", "handle", working_days_ago(3), "handling", False),
    ]
    assert rows(overdue, "case_no", "unit", "kind", "due_date", "status", "supervised") == [
        (no, unit, kind, due.isoformat(), status, supervised)
        for no, unit, kind, due, status, supervised in expected
    ]
    assert overdue["count"] == 5
    assert overdue["by_unit"] == [
        {"unit": "city", "count": 2},
        {"unit": "dongzhi", "count": 1},
        {"unit": "guichi", "count": 2},
    ]
    by_case = {item["case_no"]: item for item in overdue["data"]}
    for no, _, _, due, _, _ in expected:
        item = by_case[no]
        assert item["overdue_by_working_days"] == CALENDAR.working_days_between(due, today())
        assert item["due_at"] == deadline_instant(due).isoformat(), "24:00 of the last day"
        assert item["task_id"] is not None, "the open task the deadline bounds"
    assert [by_case[no]["overdue_by_working_days"] for no in (b.d_overdue, b.g_overdue_old)] == [
        14,
        9,
    ]
    assert by_case[b.triage_45]["overdue_by_working_days"] > 20

    # A branch head sees their own unit only; asking for another is refused.
    mine = await get(stack, "overdue", "guichi-supervisor")
    assert [i["case_no"] for i in mine["data"]] == [b.g_overdue_old, b.g_overdue_new]
    assert mine["count"] == 2
    other = await stack.call(
        "GET", f"{SUPERVISION}/overdue", "guichi-supervisor", params={"unit": "dongzhi"}
    )
    assert other.status_code == 403, other.text
    assert "guichi" in other.json()["detail"]
    filtered = await get(stack, "overdue", "auditor", unit="dongzhi")
    assert [i["case_no"] for i in filtered["data"]] == [b.d_overdue]

    # 预警: the dongzhi case ends on the next working day.
    soon = await get(stack, "due-soon", "supervisor")
    assert rows(soon, "case_no", "unit", "kind", "working_days_left") == [
        (b.d_due_soon, "dongzhi", "handle", 1)
    ]
    assert (await get(stack, "due-soon", "supervisor", within=0))["count"] == 0
    later = await get(stack, "due-soon", "supervisor", within=10)
    assert (b.g_late, "callback") in rows(later, "case_no", "kind")
    assert (await get(stack, "due-soon", "guichi-supervisor", within=10))["data"] == []

    # 通报: the figures of each branch for the last 60 days.
    period = {"from": (today() - timedelta(days=60)).isoformat(), "to": today().isoformat()}
    stats = await get(stack, "stats", "auditor", **period)
    assert (stats["from"], stats["to"]) == (period["from"], period["to"])
    assert [u["unit"] for u in stats["data"]] == BRANCHES
    figures = {u["unit"]: u for u in stats["data"]}
    assert figures["guichi"] == {
        "unit": "guichi",
        "name": "贵池分局",
        "received": 6,
        "accepted": 6,
        "replied": 4,  # satisfied, unsatisfied, unreachable, late
        "closed": 3,
        "reached": 2,
        "satisfied": 1,
        "handled": 4,
        "handled_on_time": 3,
        "on_time_rate": 0.75,
        "reply_rate": 0.6667,
        "valid_callback_rate": 0.6667,
        "satisfaction_rate": 0.5,
        "overdue": 3,  # late, overdue_old, overdue_new
        "supervised": 2,  # overdue + notice; the warning and the old urge do not count
    }
    assert figures["dongzhi"] == {
        "unit": "dongzhi",
        "name": "东至县局",
        "received": 3,
        "accepted": 3,
        "replied": 1,
        "closed": 1,
        "reached": 1,
        "satisfied": 1,
        "handled": 1,
        "handled_on_time": 1,
        "on_time_rate": 1.0,
        "reply_rate": 0.3333,
        "valid_callback_rate": 1.0,
        "satisfaction_rate": 1.0,
        "overdue": 1,
        "supervised": 1,  # the criticism; the accountability record follows it
    }
    quiet = figures["qingyang"]
    assert (quiet["received"], quiet["overdue"], quiet["supervised"]) == (0, 0, 0)
    assert quiet["on_time_rate"] is quiet["reply_rate"] is quiet["satisfaction_rate"] is None

    branch = await get(stack, "stats", "guichi-supervisor", **period)
    assert [u["unit"] for u in branch["data"]] == ["guichi"]
    assert branch["data"][0] == figures["guichi"]
    before = {"from": "2020-01-01", "to": "2020-12-31"}
    empty = await get(stack, "stats", "supervisor", **before)
    assert all(u["received"] == u["closed"] == u["overdue"] == 0 for u in empty["data"])

    # The centre's overdue triage went up the ladder by itself (the workflows' records).
    ladder = await get(stack, "accountability", "supervisor", unit="city", kind="overdue")
    assert {i["case_no"] for i in ladder["data"]} == {b.triage_45, b.triage_30}
    assert_no_server_error(responses)


# --- permissions -------------------------------------------------------------------------


VIEWS = ["overdue", "due-soon", "stats", "accountability"]


@SQLITE_ONLY
async def test_only_supervisors_auditors_and_admins_see_the_views_each_their_units(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    in_guichi = await accepted(stack, "guichi")
    move_deadline(stack, in_guichi, "handle", working_days_ago(2), DeadlineState.OVERDUE)
    in_dongzhi = await accepted(stack, "dongzhi")
    move_deadline(stack, in_dongzhi, "handle", working_days_ago(5), DeadlineState.OVERDUE)
    now = datetime.now(UTC)
    record(stack, in_guichi, "guichi", SupervisionKind.NOTICE, now)
    record(stack, in_dongzhi, "dongzhi", SupervisionKind.NOTICE, now)

    for view in VIEWS:
        for refused in ("guichi", "operator"):
            response = await stack.call("GET", f"{SUPERVISION}/{view}", refused)
            assert response.status_code == 403, (view, refused, response.text)
        anonymous = await stack.api.get(f"{SUPERVISION}/{view}")
        assert anonymous.status_code == 401, (view, anonymous.text)
        for branch_head in ("guichi-supervisor", "dongzhi-supervisor"):
            other = "dongzhi" if branch_head.startswith("guichi") else "guichi"
            response = await stack.call(
                "GET", f"{SUPERVISION}/{view}", branch_head, params={"unit": other}
            )
            assert response.status_code == 403, (view, branch_head, response.text)
        unknown = await stack.call(
            "GET", f"{SUPERVISION}/{view}", "supervisor", params={"unit": "nowhere"}
        )
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["detail"][0]["loc"] == ["query", "unit"]

    for city_wide in ("supervisor", "auditor", "admin"):
        overdue = await get(stack, "overdue", city_wide)
        assert [i["case_no"] for i in overdue["data"]] == [in_dongzhi, in_guichi]
        records = await get(stack, "accountability", city_wide)
        assert {i["unit"] for i in records["data"]} == {"guichi", "dongzhi"}
        stats = await get(stack, "stats", city_wide)
        assert [u["unit"] for u in stats["data"]] == BRANCHES

    for head, case_no in (("guichi-supervisor", in_guichi), ("dongzhi-supervisor", in_dongzhi)):
        unit = head.removesuffix("-supervisor")
        for params in ({}, {"unit": unit}):
            overdue = await get(stack, "overdue", head, **params)
            assert [(i["case_no"], i["unit"]) for i in overdue["data"]] == [(case_no, unit)]
            records = await get(stack, "accountability", head, **params)
            assert [(i["case_no"], i["unit"]) for i in records["data"]] == [(case_no, unit)]
            stats = await get(stack, "stats", head, **params)
            assert [u["unit"] for u in stats["data"]] == [unit]
            assert stats["data"][0]["received"] == 1
    assert_no_server_error(responses)


# --- accountability ----------------------------------------------------------------------


@SQLITE_ONLY
async def test_accountability_records_filter_by_unit_period_and_kind_newest_first(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    in_guichi = await register(stack)
    in_dongzhi = await register(stack)
    base = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, Monday 2 March
    kinds = [
        SupervisionKind.WARNING,
        SupervisionKind.OVERDUE,
        SupervisionKind.NOTICE,
        SupervisionKind.CRITICISM,
        SupervisionKind.ACCOUNTABILITY,
    ]
    for day, kind in enumerate(kinds):
        record(stack, in_guichi, "guichi", kind, base + timedelta(days=day), handler="guichi")
    record(stack, in_dongzhi, "dongzhi", SupervisionKind.URGE, base + timedelta(days=1))
    # 23:30 on 31 March in Shanghai is still March, though it is 15:30 UTC.
    late_march = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
    record(stack, in_dongzhi, "dongzhi", SupervisionKind.NOTICE, late_march)
    # 00:30 on 1 April in Shanghai is April, though it is 31 March in UTC.
    record(
        stack,
        in_dongzhi,
        "dongzhi",
        SupervisionKind.NOTICE,
        datetime(2026, 3, 31, 16, 30, tzinfo=UTC),
    )

    everything = await get(stack, "accountability", "auditor")
    assert everything["count"] == 8
    ats = [i["at"] for i in everything["data"]]
    assert ats == sorted(ats, reverse=True), "newest first"
    assert everything["data"][0]["at"] == "2026-04-01T00:30:00+08:00"

    guichi = await get(stack, "accountability", "supervisor", unit="guichi")
    assert [i["kind"] for i in guichi["data"]] == [k.value for k in reversed(kinds)]
    assert {(i["case_no"], i["handler"], i["deadline"]) for i in guichi["data"]} == {
        (in_guichi, "guichi", "handle")
    }

    march = await get(
        stack, "accountability", "supervisor", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert march["count"] == 7
    assert march["data"][0]["at"] == "2026-03-31T23:30:00+08:00"
    window = await get(
        stack,
        "accountability",
        "supervisor",
        unit="guichi",
        **{"from": "2026-03-03", "to": "2026-03-04"},
    )
    assert [i["kind"] for i in window["data"]] == ["notice", "overdue"]
    since = await get(stack, "accountability", "supervisor", **{"from": "2026-04-01"})
    assert [i["unit"] for i in since["data"]] == ["dongzhi"]

    notices = await get(stack, "accountability", "supervisor", kind="notice")
    assert sorted(i["unit"] for i in notices["data"]) == ["dongzhi", "dongzhi", "guichi"]

    page = await get(stack, "accountability", "supervisor", limit=3, offset=3)
    assert page["count"] == 8
    assert [i["id"] for i in page["data"]] == [i["id"] for i in everything["data"][3:6]]
    assert_no_server_error(responses)


# --- bad input ---------------------------------------------------------------------------


BAD_QUERIES: list[tuple[str, dict[str, Any], str]] = [
    ("stats", {"from": "2026-13-01"}, "from"),
    ("stats", {"to": "yesterday"}, "to"),
    ("stats", {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
    ("stats", {"from": "2025-01-01", "to": "2026-06-30"}, "to"),  # over 366 days
    ("stats", {"from": "1900-01-01", "to": "1900-01-31"}, "from"),
    ("stats", {"from": "9999-12-31", "to": "9999-12-31"}, "from"),
    ("accountability", {"from": "2026-02-30"}, "from"),
    ("accountability", {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
    ("accountability", {"to": "0001-01-01"}, "to"),
    ("accountability", {"kind": "praise"}, "kind"),
    ("overdue", {"limit": 0}, "limit"),
    ("overdue", {"offset": 10**30}, "offset"),
    ("overdue", {"unit": "x" * 41}, "unit"),
    ("due-soon", {"within": -1}, "within"),
    ("due-soon", {"within": 10**6}, "within"),
]


@SQLITE_ONLY
async def test_a_bad_query_gets_a_422_naming_the_field(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    for view, params, field in BAD_QUERIES:
        response = await stack.call("GET", f"{SUPERVISION}/{view}", "supervisor", params=params)
        assert response.status_code == 422, (view, params, response.text)
        assert [e["loc"] for e in response.json()["detail"]] == [["query", field]], params
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_stats_default_to_this_month_so_far(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    stats = await get(stack, "stats", "supervisor")
    assert (stats["from"], stats["to"]) == (today().replace(day=1).isoformat(), today().isoformat())
    march = await get(stack, "stats", "supervisor", to="2026-03-15")
    assert (march["from"], march["to"]) == ("2026-03-01", "2026-03-15")
    assert_no_server_error(responses)
