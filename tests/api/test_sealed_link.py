"""A complaint filed "also a report" and its report are one person: the link between them
is sealed like the reporter, so no one who may not see the reporter can read it anywhere
(case, list, history, inbox, supervision views), and every revealing read is logged."""

import json
from typing import Any

from tests.conftest import Stack, open_task
from tests.factories import complaint

CASES = "/api/v1/cases"
# The complainant, who is the reporter of the linked report.
PERSON = {"name": "钱七", "phone": "13722223333", "id_number": "342901199001010022"}
# Who may see the case but not the reporter of its report (before it is dispatched).
OUTSIDERS = ("operator", "auditor", "admin", "guichi-supervisor")


async def get(stack: Stack, url: str, as_: str, **params: Any) -> Any:
    response = await stack.call("GET", url, as_, params=params or None)
    assert response.status_code == 200, (url, as_, response.text)
    return response.json()


async def register_both(stack: Stack) -> tuple[str, str]:
    """Registers the complaint with its report; returns (complaint, report) numbers."""
    created = await stack.call(
        "POST", CASES, "operator", json=complaint(complainant=PERSON, also_report=True)
    )
    assert created.status_code == 201, created.text
    complaint_no = created.json()["case_no"]
    # The operator who registered it is not told the link either.
    assert created.json()["linked_case_no"] is None
    linked = await get(stack, f"{CASES}/{complaint_no}", "supervisor")
    report_no = linked["linked_case_no"]
    assert report_no and report_no.startswith(f"{stack.settings.case_no_prefix}JB")
    return complaint_no, report_no


async def everything_about(stack: Stack, case_no: str, as_: str) -> str:
    """All a user can read about one case, as one text."""
    texts = [
        await get(stack, f"{CASES}/{case_no}", as_),
        await get(stack, f"{CASES}/{case_no}/history", as_),
        await get(stack, "/api/v1/tasks", as_, case_no=case_no),
    ]
    return json.dumps(texts, ensure_ascii=False)


async def test_no_one_who_may_not_see_the_reporter_can_follow_the_link(stack: Stack) -> None:
    complaint_no, report_no = await register_both(stack)
    await open_task(stack, report_no, "triage", "operator")
    await open_task(stack, complaint_no, "triage", "operator")

    # The numbers do not give the pair away: each kind counts its own cases.
    assert not report_no.endswith(f"{int(complaint_no[-6:]) + 1:06d}")

    for user in OUTSIDERS:
        if user != "guichi-supervisor":  # a branch sees no case before it is dispatched
            about_report = await everything_about(stack, report_no, user)
            assert complaint_no not in about_report, user
            for value in PERSON.values():
                assert value not in about_report, (user, value)
            about_complaint = await everything_about(stack, complaint_no, user)
            assert report_no not in about_complaint, user
            report = await get(stack, f"{CASES}/{report_no}", user)
            assert report["reporter"] == {"sealed": True}
            assert report["linked_case_no"] is None
        listed = await get(stack, CASES, user, limit=500)
        assert complaint_no not in json.dumps(
            [c for c in listed["data"] if c["case_no"] == report_no]
        )


async def test_those_who_see_the_reporter_see_the_link_and_each_read_is_logged(
    stack: Stack,
) -> None:
    complaint_no, report_no = await register_both(stack)
    triage = await open_task(stack, report_no, "triage", "operator")
    accepted = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "dongzhi"},
    )
    assert accepted.status_code == 200, accepted.text

    # The handlers of the report's unit and the city supervisor see both ends.
    from_complaint = await get(stack, f"{CASES}/{complaint_no}", "supervisor")
    assert from_complaint["linked_case_no"] == report_no
    report = await get(stack, f"{CASES}/{report_no}", "dongzhi")
    assert report["linked_case_no"] == complaint_no
    assert report["reporter"]["name"] == PERSON["name"]

    # The complaint's branch (guichi, by the respondent's district) is not the report's.
    complaint_triage = await open_task(stack, complaint_no, "triage", "operator")
    await stack.call(
        "POST",
        f"/api/v1/tasks/{complaint_triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    as_guichi = await get(stack, f"{CASES}/{complaint_no}", "guichi")
    assert as_guichi["linked_case_no"] is None
    assert as_guichi["complainant"]["phone"] == PERSON["phone"]  # their own case, in full

    events = (await get(stack, f"{CASES}/{report_no}/history", "supervisor"))["events"]
    link_reads = [e for e in events if e["type"] == "report_link_read"]
    assert [(e["actor"], e["data"]["from"]) for e in link_reads] == [
        ("supervisor", complaint_no),
        ("supervisor", complaint_no),  # register_both looked once already
    ]
    reporter_reads = [e["actor"] for e in events if e["type"] == "reporter_identity_read"]
    assert "dongzhi" in reporter_reads
    # The history the supervisor reads keeps the link; the operator's leaves it out.
    registered = next(e for e in events if e["type"] == "registered")
    assert registered["data"]["linked_case_no"] == complaint_no
    as_operator = (await get(stack, f"{CASES}/{report_no}/history", "operator"))["events"]
    assert (
        next(e for e in as_operator if e["type"] == "registered")["data"]["linked_case_no"] is None
    )
