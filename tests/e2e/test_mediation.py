"""The mediation ladder end to end over HTTP, on the stack ``make run`` starts.

A complaint's administrative mediation fails; both parties agree to people's mediation,
which reaches an agreement; they apply jointly and the court confirms it. Half-way (in
people's mediation) the whole stack is stopped and started again.
"""

from datetime import date, timedelta

from tests.e2e.conftest import Client, Embedded
from tests.factories import complaint


def test_failed_mediation_to_peoples_mediation_to_a_confirmed_agreement(
    embedded: Embedded,
) -> None:
    embedded.start()
    client = Client(embedded.base)
    case_no = client.post("/cases", "operator", json=complaint(client_ref="e2e-ladder"))["case_no"]
    triage = client.task(case_no, "triage", "operator")
    client.post(
        f"/tasks/{triage['id']}/complete", "operator", json={"decision": "accept", "unit": "guichi"}
    )
    today = client.task(case_no, "handle", "guichi")["created_at"][:10]
    client.post(
        f"/cases/{case_no}/mediation/sessions",
        "guichi",
        json={
            "held_on": today,
            "attendees": [
                {"name": "张三", "role": "complainant"},
                {"name": "某某家电商场", "role": "respondent"},
            ],
            "minutes": "商家仅同意维修，消费者要求退货，分歧较大",
        },
    )
    handle = client.task(case_no, "handle", "guichi")
    client.post(
        f"/tasks/{handle['id']}/complete",
        "guichi",
        json={"outcome": "terminated", "ground": "T21-4", "reply": "双方未能达成一致"},
    )
    for party in ("complainant", "respondent"):
        client.post(
            f"/cases/{case_no}/mediation/consents",
            "guichi",
            json={
                "purpose": "people_mediation",
                "party": party,
                "given": True,
                "given_on": today,
                "form": "written",
            },
        )
    notice = client.task(case_no, "notify_termination", "guichi")
    client.post(
        f"/tasks/{notice['id']}/complete",
        "guichi",
        json={
            "complainant": "phone",
            "respondent": "letter",
            "told_on": today,
            "next": "people",
            "committee": "guichi-consumer",
        },
    )
    case = client.get(f"/cases/{case_no}", "guichi")
    assert case["mediation"]["current_rung"] == "people"

    embedded.stop()
    embedded.start()

    client = Client(embedded.base)
    committee = client.task(case_no, "committee_result", "guichi")
    assert committee["context"]["committee_name"] == "贵池区消费纠纷人民调解委员会"
    client.post(
        f"/tasks/{committee['id']}/complete",
        "guichi",
        json={
            "result": "agreement",
            "signed_on": today,
            "summary": "商家退货退款，并补偿交通费",
            "amount_recovered": "3099.00",
        },
    )
    window = next(
        d
        for d in client.get(f"/cases/{case_no}", "guichi")["deadlines"]
        if d["name"] == "judicial_confirmation"
    )
    assert window["due_date"] == (date.fromisoformat(today) + timedelta(days=30)).isoformat()
    for party in ("complainant", "respondent"):
        client.post(
            f"/cases/{case_no}/mediation/consents",
            "guichi",
            json={
                "purpose": "judicial_confirmation",
                "party": party,
                "given": True,
                "given_on": today,
                "form": "written",
            },
        )
    application = client.task(case_no, "judicial_application", "guichi")
    client.post(
        f"/tasks/{application['id']}/complete",
        "guichi",
        json={"decision": "applied", "court": "池州市贵池区人民法院", "applied_on": today},
    )
    ruling = client.task(case_no, "court_ruling", "guichi")
    client.post(
        f"/tasks/{ruling['id']}/complete",
        "guichi",
        json={"ruling": "confirmed", "ruling_no": "（2026）皖1702民特88号", "ruled_on": today},
    )

    case = client.get(f"/cases/{case_no}", "operator")
    assert (case["status"], case["outcome"]) == ("replied", "confirmed")
    assert case["mediation"]["state"] == "ended"
    assert [(r["rung"], r["outcome"]) for r in case["mediation"]["rungs"]] == [
        ("administrative", "terminated"),
        ("people", "agreement"),
        ("judicial", "confirmed"),
    ]
    confirmed = case["mediation"]["rungs"][2]["details"]
    assert confirmed["ruling_no"] == "（2026）皖1702民特88号"
    assert confirmed["enforceable"] is True
    ladder = client.get(f"/cases/{case_no}/mediation", "guichi")
    assert len(ladder["sessions"]) == 1 and len(ladder["consents"]) == 4

    callback = client.task(case_no, "callback", "operator")
    client.post(
        f"/tasks/{callback['id']}/complete",
        "operator",
        json={"reached": True, "satisfaction": "satisfied"},
    )
    closed = client.get(f"/cases/{case_no}", "operator")
    assert (closed["status"], closed["satisfaction"]) == ("closed", "satisfied")
    types = [e["type"] for e in client.get(f"/cases/{case_no}/history", "auditor")["events"]]
    order = [
        "mediation_started",
        "mediation_session",
        "mediation_terminated",
        "termination_notified",
        "people_mediation_agreed",
        "judicial_confirmation_applied",
        "judicially_confirmed",
        "mediation_ended",
        "replied",
    ]
    assert [t for t in types if t in order] == order
    embedded.stop()
