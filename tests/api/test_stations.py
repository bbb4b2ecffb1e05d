"""Rung 0, 和解: a dispute registered at a 五进 station or an ODR enterprise is first for the
business to settle there; the station records it, and sees only its own disputes."""

from datetime import date
from typing import Any

import pytest

from api.workdays import WorkingCalendar
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task
from tests.factories import complaint
from tests.mediation import case_of, done, event_types, today

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
STATION = "st-wanda"  # 贵池区万达广场12315消费维权服务站


async def at_station(stack: Stack, station: str = STATION, **overrides: Any) -> str:
    body = complaint(channel="station", **overrides)
    response = await stack.call("POST", "/api/v1/cases", station, json=body)
    assert response.status_code == 201, response.text
    return response.json()["case_no"]  # type: ignore[no-any-return]


async def test_a_station_settles_a_dispute_on_the_spot(stack: Stack) -> None:
    case_no = await at_station(stack)
    task = await open_task(stack, case_no, "reconcile", STATION)
    assert task["unit"] == STATION and task["role"] == "station"
    case = await case_of(stack, case_no, STATION)
    assert case["status"] == "reconciliation"
    assert case["unit"] is None, "no branch handles it while the business settles"
    assert case["mediation"]["current_rung"] == "reconciliation"
    assert case["mediation"]["current_level"] == 0
    limit = next(d for d in case["deadlines"] if d["name"] == "reconcile")
    received = date.fromisoformat(case["received_at"][:10])
    seven = WorkingCalendar().add_working_days(received, 7).end
    assert (limit["due_date"], limit["policy"], limit["unit"]) == (
        seven.isoformat(),
        "expire",
        STATION,
    )

    await done(
        stack,
        case_no,
        "reconcile",
        STATION,
        {"outcome": "settled", "summary": "商场当场为消费者更换新机", "amount_recovered": "1999"},
    )
    case = await case_of(stack, case_no, STATION)
    assert (case["status"], case["outcome"]) == ("closed", "reconciled")
    assert [(r["rung"], r["via"], r["outcome"]) for r in case["mediation"]["rungs"]] == [
        ("reconciliation", "registered", "settled")
    ]
    assert case["mediation"]["rungs"][0]["details"]["amount_recovered"] == "1999.00"
    assert "reconciled" in await event_types(stack, case_no)
    for kind in ("triage", "callback"):
        found = await stack.call(
            "GET", "/api/v1/tasks", "supervisor", params={"case_no": case_no, "kind": kind}
        )
        # Settled at the station: the centre neither triages it nor calls back.
        assert found.json()["count"] == 0, kind


@SQLITE_ONLY
async def test_a_dispute_the_station_cannot_settle_goes_to_the_centre_and_up_the_ladder(
    stack: Stack,
) -> None:
    case_no = await at_station(stack)
    await done(
        stack, case_no, "reconcile", STATION, {"outcome": "not_settled", "reason": "商家拒绝退货"}
    )
    case = await case_of(stack, case_no, STATION)
    assert case["status"] == "triage"
    triage = next(d for d in case["deadlines"] if d["name"] == "triage")
    seven = WorkingCalendar().add_working_days(date.fromisoformat(today()), 7).end
    assert triage["due_date"] == seven.isoformat(), "the centre's time starts when it gets it"

    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    case = await case_of(stack, case_no, "guichi")
    assert case["status"] == "handling"
    assert case["mediation"]["number"] == 2
    assert [
        (r["number"], r["rung"], r["via"], r["outcome"]) for r in case["mediation"]["rungs"]
    ] == [
        (1, "reconciliation", "registered", "not_settled"),
        (2, "administrative", "accepted", None),
    ]
    await open_task(stack, case_no, "handle", "guichi")
    assert (await case_of(stack, case_no, STATION))["status"] == "handling", (
        "the station keeps seeing the dispute it registered"
    )


@SQLITE_ONLY
async def test_a_station_sees_and_acts_on_its_own_disputes_only(
    stack: Stack, responses: list[Any]
) -> None:
    mine = await at_station(stack)
    theirs = await at_station(
        stack, "st-jiuhua", respondent={"name": "某景区商店", "district": "九华山风景区"}
    )
    task = await open_task(stack, mine, "reconcile", STATION)
    await open_task(stack, theirs, "reconcile", "st-jiuhua")

    for outsider in ("st-jiuhua", "odr-yunmall", "guichi", "guichi-supervisor"):
        assert (await stack.call("GET", f"/api/v1/cases/{mine}", outsider)).status_code == 404
        seen = await stack.call("GET", "/api/v1/tasks", outsider, params={"case_no": mine})
        assert seen.json()["count"] == 0, outsider
    listed = await stack.call("GET", "/api/v1/cases", STATION)
    assert [c["case_no"] for c in listed.json()["data"]] == [mine]
    other = await stack.call(
        "POST",
        f"/api/v1/tasks/{task['id']}/complete",
        "st-jiuhua",
        json={"outcome": "not_settled", "reason": "x"},
    )
    assert other.status_code == 404
    centre = await stack.call(
        "POST",
        f"/api/v1/tasks/{task['id']}/complete",
        "supervisor",
        json={"outcome": "not_settled", "reason": "x"},
    )
    assert centre.status_code == 403, "the centre sees the dispute but the station settles it"
    assert (await case_of(stack, theirs, "operator"))["status"] == "reconciliation"

    wrong = await stack.call("POST", "/api/v1/cases", STATION, json=complaint())
    assert wrong.status_code == 422 and "channel" in wrong.text
    assert_no_server_error(responses)
