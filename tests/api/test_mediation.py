"""The mediation ladder over the HTTP API: each rung's outcomes, the consents a move up
needs, sessions, courts, and withdrawal at any rung (the deadlines that pass by
themselves are in tests/workflows/test_mediation_deadlines.py)."""

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from api.tasks.models import Task
from api.workdays import WorkingCalendar
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack, open_task
from tests.mediation import (
    COMMITTEE,
    COMMITTEE_NAME,
    COURT,
    accepted,
    agreement,
    applied,
    both_consent,
    case_of,
    complete,
    consent,
    deadline,
    done,
    event_types,
    notice,
    terminate,
    to_committee,
    to_court,
    to_litigation,
    to_window,
    today,
)
from workflows.complaint import ComplaintWorkflow, workflow_id
from workflows.mediation import MediationWorkflow, mediation_id

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def rungs(case: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["rung"], r["via"], r["outcome"]) for r in case["mediation"]["rungs"]]


async def test_a_failed_mediation_goes_to_peoples_mediation_and_ends_with_an_agreement(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted(stack)
    case = await case_of(stack, case_no)
    assert case["mediation"]["current_rung"] == "administrative"
    assert case["mediation"]["current_level"] == 1
    assert rungs(case) == [("administrative", "accepted", None)]
    handle = await deadline(stack, case_no, "handle")
    assert (handle["working_days"], handle["policy"], handle["state"]) == (45, "expire", "pending")

    await terminate(stack, case_no)
    case = await case_of(stack, case_no)
    assert case["status"] == "handling", "the complainant is answered when the ladder ends"
    assert case["mediation"]["stage"] == "notifying"
    assert (await deadline(stack, case_no, "handle"))["state"] == "met"
    told = await deadline(stack, case_no, "termination_notice")
    seven = WorkingCalendar().add_working_days(date.fromisoformat(today()), 7).end
    assert (told["due_date"], told["policy"]) == (seven.isoformat(), "supervise")

    await both_consent(stack, case_no, "people_mediation")
    await done(stack, case_no, "notify_termination", "guichi", notice("people", COMMITTEE))
    case = await case_of(stack, case_no)
    assert case["mediation"]["current_rung"] == "people"
    committee = await open_task(stack, case_no, "committee_result", "guichi")
    assert committee["context"]["committee_name"] == COMMITTEE_NAME
    chased = await deadline(stack, case_no, "people_mediation")
    assert chased["policy"] == "supervise"
    assert chased["due_date"] == (date.fromisoformat(today()) + timedelta(days=30)).isoformat()

    await done(stack, case_no, "committee_result", "guichi", agreement())
    window = await deadline(stack, case_no, "judicial_confirmation")
    assert window["due_date"] == (date.fromisoformat(today()) + timedelta(days=30)).isoformat()
    assert window["policy"] == "expire"
    await done(stack, case_no, "judicial_application", "guichi", {"decision": "declined"})

    case = await case_of(stack, case_no)
    assert case["status"] == "replied", "the ladder's end completed the handle step"
    assert case["outcome"] == "agreement"
    assert case["mediation"]["state"] == "ended"
    assert case["mediation"]["current_rung"] is None
    assert rungs(case) == [
        ("administrative", "accepted", "terminated"),
        ("people", "consent", "agreement"),
        ("judicial", "agreement", "not_applied"),
    ]
    first, second, _ = case["mediation"]["rungs"]
    assert first["details"]["ground"] == "T21-4"
    assert first["details"]["notified"] == {
        "complainant": "phone",
        "respondent": "letter",
        "told_on": today(),
    }
    assert second["details"]["committee"] == COMMITTEE
    assert second["details"]["amount_recovered"] == "3200.00"
    assert len(second["details"]["consents"]) == 2
    await open_task(stack, case_no, "callback", "operator")
    types = await event_types(stack, case_no)
    for expected in (
        "mediation_started",
        "mediation_terminated",
        "termination_notified",
        "people_mediation_agreed",
        "judicial_confirmation_declined",
        "mediation_ended",
        "handling_concluded",
        "replied",
    ):
        assert expected in types
    child = stack.client.get_workflow_handle_for(MediationWorkflow.run, mediation_id(case_no, 1))
    assert (await child.result()).outcome == "agreement"
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_peoples_mediation_needs_both_parties_consent_on_record(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted(stack)
    await terminate(stack, case_no)

    refused = await complete(
        stack, case_no, "notify_termination", "guichi", notice("people", COMMITTEE)
    )
    assert refused.status_code == 409
    assert "complainant's consent to people_mediation is not on record" in refused.text

    assert (await consent(stack, case_no, "people_mediation", "complainant")).status_code == 201
    no = await consent(
        stack, case_no, "people_mediation", "respondent", given=False, note="商家拒绝"
    )
    assert no.status_code == 201, no.text
    refused = await complete(
        stack, case_no, "notify_termination", "guichi", notice("people", COMMITTEE)
    )
    assert refused.status_code == 409
    assert f"respondent refused people_mediation (recorded for {today()})" in refused.text
    case = await case_of(stack, case_no)
    assert case["mediation"]["stage"] == "notifying", "a refused move changes nothing"
    assert "consent_refused" in await event_types(stack, case_no)

    # The respondent thinks again: the latest record counts.
    assert (await consent(stack, case_no, "people_mediation", "respondent")).status_code == 201
    await done(stack, case_no, "notify_termination", "guichi", notice("people", COMMITTEE))
    assert (await case_of(stack, case_no))["mediation"]["current_rung"] == "people"

    await done(stack, case_no, "committee_result", "guichi", agreement())
    one = await consent(stack, case_no, "judicial_confirmation", "complainant")
    assert one.status_code == 201
    alone = await complete(stack, case_no, "judicial_application", "guichi", applied())
    assert alone.status_code == 409, "judicial confirmation is applied for jointly"
    assert "respondent's consent to judicial_confirmation is not on record" in alone.text
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_an_invalid_confirmation_goes_back_to_peoples_mediation_then_to_litigation(
    stack: Stack,
) -> None:
    case_no = await to_court(stack)
    ruling = await deadline(stack, case_no, "court_ruling")
    assert ruling["policy"] == "watch"
    assert ruling["due_date"] == (date.fromisoformat(today()) + timedelta(days=15)).isoformat()

    await done(
        stack,
        case_no,
        "court_ruling",
        "guichi",
        {
            "ruling": "invalid",
            "ruled_on": today(),
            "reason": "协议内容违反法律规定",
            "next": "people",
            "committee": "cz-consumer",
        },
    )
    committee = await open_task(stack, case_no, "committee_result", "guichi")
    assert committee["context"]["committee_name"] == "池州市消费纠纷人民调解委员会"
    await done(
        stack,
        case_no,
        "committee_result",
        "guichi",
        {"result": "failed", "reason": "双方未能达成新协议", "next": "litigation"},
    )
    await done(
        stack,
        case_no,
        "court_outcome",
        "guichi",
        {"outcome": "judgment", "summary": "法院判决商家退款", "amount_recovered": "3200"},
    )
    case = await case_of(stack, case_no)
    assert (case["status"], case["outcome"]) == ("replied", "judgment")
    assert rungs(case) == [
        ("administrative", "accepted", "terminated"),
        ("people", "consent", "agreement"),
        ("judicial", "agreement", "invalid"),
        ("people", "consent", "failed"),
        ("judicial", "guidance", "judgment"),
    ]


@SQLITE_ONLY
async def test_a_court_entrusts_the_dispute_back_to_mediation(stack: Stack) -> None:
    case_no = await to_litigation(stack)
    outcome = await deadline(stack, case_no, "court_outcome")
    assert outcome["policy"] == "watch"

    due_on = (date.fromisoformat(today()) + timedelta(days=20)).isoformat()
    entrusted_people = {
        "outcome": "entrusted",
        "rung": "people",
        "due_on": due_on,
        "court_ref": "（2026）皖1702民初1234号",
        "committee": COMMITTEE,
    }
    refused = await complete(stack, case_no, "court_outcome", "guichi", entrusted_people)
    assert refused.status_code == 409, "people's mediation needs consent even when entrusted"

    await done(
        stack,
        case_no,
        "court_outcome",
        "guichi",
        {"outcome": "entrusted", "rung": "administrative", "due_on": due_on},
    )
    case = await case_of(stack, case_no)
    assert case["mediation"]["current_rung"] == "administrative"
    again = await deadline(stack, case_no, "handle")
    assert (again["due_date"], again["fixed"], again["policy"]) == (due_on, True, "expire")
    await done(
        stack,
        case_no,
        "handle",
        "guichi",
        {"outcome": "agreement", "summary": "委托调解达成协议", "reply": "已达成协议"},
    )
    case = await case_of(stack, case_no)
    assert (case["status"], case["outcome"]) == ("replied", "agreement")
    assert rungs(case) == [
        ("administrative", "accepted", "terminated"),
        ("judicial", "guidance", "entrusted"),
        ("administrative", "entrusted", "agreement"),
    ]


async def _at_rung_1(stack: Stack) -> str:
    return await accepted(stack)


async def _notifying(stack: Stack) -> str:
    case_no = await accepted(stack)
    await terminate(stack, case_no)
    return case_no


STAGES = {
    "mediating": _at_rung_1,
    "notifying": _notifying,
    "committee": to_committee,
    "window": to_window,
    "confirming": to_court,
    "litigating": to_litigation,
}


@SQLITE_ONLY
@pytest.mark.parametrize("stage", list(STAGES))
async def test_withdrawal_ends_the_ladder_cleanly_at_any_rung(stack: Stack, stage: str) -> None:
    case_no = await STAGES[stage](stack)
    assert (await case_of(stack, case_no))["mediation"]["stage"] == stage

    withdrawn = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/withdraw", "operator", json={"reason": "已自行和解"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    case = withdrawn.json()
    assert case["status"] == "withdrawn"
    assert case["mediation"]["state"] == "ended"
    assert case["mediation"]["outcome"] == "withdrawn"
    last = case["mediation"]["rungs"][-1]
    # A mediation already terminated keeps that outcome; an open rung ends as withdrawn.
    assert last["outcome"] == ("terminated" if stage == "notifying" else "withdrawn")
    assert all(r["ended_at"] for r in case["mediation"]["rungs"])
    assert all(d["state"] in ("met", "overdue") for d in case["deadlines"])
    with stack.db() as session:
        tasks = session.exec(select(Task).where(Task.case_no == case_no)).all()
        assert {t.status for t in tasks} <= {"done", "cancelled"}
    child = stack.client.get_workflow_handle_for(MediationWorkflow.run, mediation_id(case_no, 1))
    assert (await child.result()).outcome == "withdrawn"
    parent = stack.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id(case_no))
    assert (await parent.result()).status == "withdrawn"


@SQLITE_ONLY
async def test_sessions_are_recorded_by_the_mediating_branch_while_it_mediates(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted(stack)
    url = f"/api/v1/cases/{case_no}/mediation/sessions"
    body = {
        "held_on": today(),
        "place": "贵池分局调解室",
        "attendees": [
            {"name": "张三", "role": "complainant"},
            {"name": "李经理", "role": "respondent"},
            {"name": "王调解员", "role": "mediator"},
        ],
        "minutes": "双方陈述意见，商家同意检测后再议",
    }
    recorded = await stack.call("POST", url, "guichi", json=body)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["attendees"][0]["name"] == "张三"

    assert (await stack.call("POST", url, "dongzhi", json=body)).status_code == 404
    assert (await stack.call("POST", url, "operator", json=body)).status_code == 403
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    future = await stack.call("POST", url, "guichi", json={**body, "held_on": tomorrow})
    assert future.status_code == 422 and "held_on" in future.text
    nobody = await stack.call("POST", url, "guichi", json={**body, "attendees": []})
    assert nobody.status_code == 422

    ladder = await stack.call("GET", f"/api/v1/cases/{case_no}/mediation", "auditor")
    assert ladder.status_code == 200, ladder.text
    (session,) = ladder.json()["sessions"]
    assert session["minutes"] == body["minutes"]
    assert [a["name"] for a in session["attendees"]] == ["张*", "李**", "王***"]
    history = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    logged = next(e for e in history["events"] if e["type"] == "mediation_session")
    assert logged["data"]["attendees"] == 3 and "张三" not in str(logged["data"])

    await terminate(stack, case_no)
    late = await stack.call("POST", url, "guichi", json=body)
    assert late.status_code == 409, "sessions are for administrative mediation"
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_a_ladder_form_refuses_what_it_cannot_take(
    stack: Stack, responses: list[Any]
) -> None:
    case_no = await accepted(stack)
    await terminate(stack, case_no)
    await both_consent(stack, case_no, "people_mediation")
    bad = [
        (notice("people", "no-such-committee"), "committee"),
        (notice("people"), "committee"),
        (notice("end", COMMITTEE), "committee"),
        ({**notice("end"), "next": "arbitration"}, "next"),
        ({**notice("end"), "told_on": "2020-01-01"}, "told_on"),
        ({**notice("end"), "told_on": "2099-01-01"}, "told_on"),
        ({**notice("end"), "complainant": "pigeon"}, "complainant"),
    ]
    for body, field in bad:
        response = await complete(stack, case_no, "notify_termination", "guichi", body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (field, response.text)
    task = await open_task(stack, case_no, "notify_termination", "guichi")
    other = await stack.call(
        "POST", f"/api/v1/tasks/{task['id']}/complete", "dongzhi", json=notice("end")
    )
    assert other.status_code == 404, "another branch does not see the case"
    assert (await case_of(stack, case_no))["mediation"]["stage"] == "notifying"

    await done(stack, case_no, "notify_termination", "guichi", notice("people", COMMITTEE))
    for body, field in [
        (agreement(signed_on="2099-01-01"), "signed_on"),
        (agreement(amount_recovered="-1"), "amount_recovered"),
        ({"result": "failed", "reason": "x", "next": "people"}, "next"),
    ]:
        response = await complete(stack, case_no, "committee_result", "guichi", body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text
    await done(stack, case_no, "committee_result", "guichi", agreement())
    await both_consent(stack, case_no, "judicial_confirmation")
    yesterday = (date.fromisoformat(today()) - timedelta(days=1)).isoformat()
    early = await complete(
        stack,
        case_no,
        "judicial_application",
        "guichi",
        {"decision": "applied", "court": COURT, "applied_on": yesterday},
    )
    assert early.status_code == 422 and "applied_on" in early.text
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_each_rung_task_carries_the_json_schema_of_its_form(stack: Stack) -> None:
    case_no = await to_window(stack)
    task = await open_task(stack, case_no, "judicial_application", "guichi")
    choices = task["form"]["discriminator"]["mapping"]
    assert set(choices) == {"applied", "declined"}
    with stack.db() as session:
        kinds = set(session.exec(select(Task.kind).where(Task.case_no == case_no)).all())
    assert {"handle", "notify_termination", "committee_result", "judicial_application"} <= kinds
    for kind in kinds:
        found = await stack.call(
            "GET", "/api/v1/tasks", "guichi", params={"case_no": case_no, "kind": kind}
        )
        for each in found.json()["data"]:
            assert each["form"].get("oneOf") or each["form"].get("properties"), kind
