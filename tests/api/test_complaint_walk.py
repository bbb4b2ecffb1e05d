"""A complaint walks its whole lifecycle over the HTTP API, on SQLite and PostgreSQL."""

from tests.conftest import Stack, open_task
from tests.factories import complaint


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
