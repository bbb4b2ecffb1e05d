"""Reports (举报): the full path with both extensions, anonymity, links, and the sealed
reporter across roles and units."""

from datetime import date, timedelta
from typing import Any

import pytest

from api.workdays import WorkingCalendar
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task
from tests.factories import complaint
from tests.workflows.test_privacy import payload_texts
from workflows.case import workflow_id

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
REPORTER = {"name": "赵六", "phone": "13911112222", "id_number": "342901198805050011"}


def report(**overrides: Any) -> dict[str, Any]:
    body = complaint(kind="report", reporter=REPORTER, campaign="fire-products")
    del body["complainant"]
    body["description"] = "某商场销售无3C认证的灭火器"
    body.update(overrides)
    return body


async def complete(stack: Stack, task_id: int, as_: str, body: dict[str, Any]) -> None:
    response = await stack.call("POST", f"/api/v1/tasks/{task_id}/complete", as_, json=body)
    assert response.status_code == 200, response.text


async def case_of(stack: Stack, case_no: str, as_: str = "supervisor") -> dict[str, Any]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}", as_)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def deadline(case: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in case["deadlines"] if d["name"] == name)


async def extend(stack: Stack, case_no: str, name: str, days: int) -> None:
    asked = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/{name}/extension",
        "guichi",
        json={"working_days": days, "reason": "案情复杂，经负责人批准延长"},
    )
    assert asked.status_code == 200, asked.text
    approval = await open_task(stack, case_no, "approve_extension", "supervisor")
    await complete(stack, approval["id"], "supervisor", {"approve": True, "reason": "同意"})


async def test_a_real_name_report_from_filing_to_a_penalty_with_both_extensions(
    stack: Stack, responses: list[Any]
) -> None:
    created = await stack.call("POST", "/api/v1/cases", "operator", json=report())
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    assert created.json()["kind"] == "report"
    assert created.json()["campaign"] == "fire-products"

    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    case = await case_of(stack, case_no)
    assert case["status"] == "verification"
    verify = deadline(case, "verify")
    received = date.fromisoformat(created.json()["received_at"][:10])
    assert verify["due_date"] == WorkingCalendar().add_working_days(received, 15).end.isoformat()

    await extend(stack, case_no, "verify", 15)
    extended = deadline(await case_of(stack, case_no), "verify")
    assert extended["due_date"] == (
        WorkingCalendar().add_working_days(received, 30).end.isoformat()
    )
    once = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/verify/extension",
        "guichi",
        json={"working_days": 5, "reason": "再延"},
    )
    assert once.status_code == 409, "the statutory extension is granted once"

    verify_task = await open_task(stack, case_no, "verify", "guichi")
    await complete(stack, verify_task["id"], "guichi", {"decision": "file", "reason": "有违法嫌疑"})
    case = await case_of(stack, case_no)
    assert case["status"] == "investigation"
    filed_on = date.fromisoformat(deadline(case, "investigate")["started_on"])
    assert deadline(case, "investigate")["due_date"] == (filed_on + timedelta(days=90)).isoformat()
    notice = deadline(case, "reporter_notice")
    assert notice["due_date"] == WorkingCalendar().add_working_days(filed_on, 5).end.isoformat()

    investigate = await open_task(stack, case_no, "investigate", "guichi")
    too_early = await stack.call(
        "POST",
        f"/api/v1/tasks/{investigate['id']}/complete",
        "guichi",
        json={"decision": "penalty", "summary": "罚款"},
    )
    assert too_early.status_code == 409, "the reporter must be told of the filing first"
    told = await open_task(stack, case_no, "notify_reporter", "guichi")
    assert told["context"]["decision"] == "file"
    await complete(stack, told["id"], "guichi", {"channel": "phone"})

    too_long = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/investigate/extension",
        "guichi",
        json={"working_days": 31, "reason": "x"},
    )
    assert too_long.status_code == 422
    await extend(stack, case_no, "investigate", 30)
    assert (
        deadline(await case_of(stack, case_no), "investigate")["due_date"]
        == (filed_on + timedelta(days=120)).isoformat()
    )

    await complete(
        stack, investigate["id"], "guichi", {"decision": "penalty", "summary": "没收并罚款"}
    )
    case = await case_of(stack, case_no)
    assert case["status"] == "closed" and case["outcome"] == "penalty"
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    types = [e["type"] for e in events["events"]]
    for expected in ("filed", "reporter_told", "extension_approved", "investigation_decided"):
        assert expected in types
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_an_anonymous_report_not_filed_closes_without_telling_anyone(stack: Stack) -> None:
    body = report(anonymous=True)
    del body["reporter"]
    created = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    assert created.json()["reporter"] is None and created.json()["anonymous"] is True
    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    verify = await open_task(stack, case_no, "verify", "guichi")
    await complete(stack, verify["id"], "guichi", {"decision": "no_file", "reason": "查无实据"})
    case = await case_of(stack, case_no)
    assert case["status"] == "closed" and case["outcome"] == "not_filed"
    tasks = (
        await stack.call("GET", "/api/v1/tasks", "supervisor", params={"case_no": case_no})
    ).json()
    assert "notify_reporter" not in {t["kind"] for t in tasks["data"]}


@SQLITE_ONLY
async def test_a_real_name_report_not_filed_waits_until_the_reporter_is_told(stack: Stack) -> None:
    case_no = (await stack.call("POST", "/api/v1/cases", "operator", json=report())).json()[
        "case_no"
    ]
    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    verify = await open_task(stack, case_no, "verify", "guichi")
    await complete(stack, verify["id"], "guichi", {"decision": "no_file", "reason": "不属违法"})
    assert (await case_of(stack, case_no))["status"] == "not_filed"
    told = await open_task(stack, case_no, "notify_reporter", "guichi")
    await complete(stack, told["id"], "guichi", {"channel": "letter"})
    assert (await case_of(stack, case_no))["status"] == "closed"


@SQLITE_ONLY
async def test_the_reporter_is_sealed_and_every_read_is_logged(stack: Stack) -> None:
    case_no = (await stack.call("POST", "/api/v1/cases", "operator", json=report())).json()[
        "case_no"
    ]
    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})

    seen = {}
    for user in ("guichi", "supervisor", "guichi-supervisor", "operator", "auditor", "admin"):
        response = await stack.call("GET", f"/api/v1/cases/{case_no}", user)
        assert response.status_code == 200, (user, response.text)
        seen[user] = response.json()["reporter"]
    for user in ("guichi", "supervisor", "guichi-supervisor"):
        assert seen[user]["phone"] == REPORTER["phone"], user
    for user in ("operator", "auditor", "admin"):
        assert seen[user] == {"sealed": True}, user
    assert (await stack.call("GET", f"/api/v1/cases/{case_no}", "dongzhi")).status_code == 404
    assert (
        await stack.call("GET", f"/api/v1/cases/{case_no}", "dongzhi-supervisor")
    ).status_code == 404

    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()[
        "events"
    ]
    reads = [
        (e["actor"], e["data"]["role"]) for e in events if e["type"] == "reporter_identity_read"
    ]
    assert reads == [
        ("guichi", "handler"),
        ("supervisor", "supervisor"),
        ("guichi-supervisor", "supervisor"),
    ]
    history_text = str(events)
    for secret in REPORTER.values():
        assert secret not in history_text

    workflow = await stack.client.get_workflow_handle(
        workflow_id(case_no, "report")
    ).fetch_history()
    payloads = "\n".join(payload_texts(workflow.to_json_dict()))
    assert case_no in payloads
    for secret in REPORTER.values():
        assert secret not in payloads


@SQLITE_ONLY
async def test_a_complaint_that_also_reports_creates_both_linked(stack: Stack) -> None:
    created = await stack.call(
        "POST", "/api/v1/cases", "operator", json=complaint(also_report=True)
    )
    assert created.status_code == 201, created.text
    complaint_no = created.json()["case_no"]
    # The link is sealed like the reporter (tests/api/test_sealed_link.py): the city
    # supervisor sees it, the operator who registered it does not.
    assert created.json()["linked_case_no"] is None
    report_no = (await case_of(stack, complaint_no, "supervisor"))["linked_case_no"]
    assert report_no and report_no != complaint_no
    linked = await case_of(stack, report_no, "supervisor")
    assert linked["kind"] == "report" and linked["linked_case_no"] == complaint_no
    assert (await case_of(stack, report_no, "operator"))["reporter"] == {"sealed": True}
    await open_task(stack, report_no, "triage", "operator")
    await open_task(stack, complaint_no, "triage", "operator")


@SQLITE_ONLY
async def test_a_clue_found_in_mediation_opens_a_linked_report(stack: Stack) -> None:
    case_no = (await stack.call("POST", "/api/v1/cases", "operator", json=complaint())).json()[
        "case_no"
    ]
    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    clue = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/reports",
        "guichi",
        json={"description": "调解中发现商家销售过期食品", "campaign": "children-products"},
    )
    assert clue.status_code == 201, clue.text
    assert clue.json()["linked_case_no"] == case_no and clue.json()["anonymous"] is True
    not_theirs = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/reports", "dongzhi", json={"description": "x"}
    )
    assert not_theirs.status_code in (403, 404)
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    assert any(e["type"] == "clue_reported" for e in events["events"])

    # A retry with its client_ref opens the report once, and notes it once.
    body = {"description": "调解中发现商家虚假宣传", "client_ref": "clue-1"}
    sent = [
        await stack.call("POST", f"/api/v1/cases/{case_no}/reports", "guichi", json=body)
        for _ in range(2)
    ]
    assert [r.status_code for r in sent] == [201, 201], sent[1].text
    assert sent[0].json()["case_no"] == sent[1].json()["case_no"]
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    assert sum(e["type"] == "clue_reported" for e in events["events"]) == 2
