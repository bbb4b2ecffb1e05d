"""Personal data never enters a workflow history: inputs, results and updates carry case
numbers, ids and non-personal facts only."""

import base64
from typing import Any

from tests import mediation
from tests.conftest import Stack, open_task
from tests.factories import complaint
from workflows.complaint import workflow_id
from workflows.mediation import mediation_id

PERSONAL = {
    "name": "李四海",
    "phone": "13912345678",
    "id_number": "340100199001011234",
    "address": "池州市贵池区清风街道幸福小区8栋",
}
FREE_TEXT = [
    "冰箱门封条脱落漏冷",
    "要求更换新机",
    "商家同意更换新机",
    "已更换新机并致歉",
    "回访时表示满意",
]


def payload_texts(node: Any) -> list[str]:
    """Every payload of the history, decoded: what Temporal actually stores."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "payloads" and isinstance(value, list):
                found += [
                    base64.b64decode(p.get("data", "")).decode("utf-8", "replace") for p in value
                ]
            elif key == "indexedFields" and isinstance(value, dict):
                found += [
                    base64.b64decode(p.get("data", "")).decode("utf-8", "replace")
                    for p in value.values()
                ]
            else:
                found += payload_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += payload_texts(item)
    return found


async def test_no_personal_data_or_free_text_in_the_workflow_history(stack: Stack) -> None:
    body = complaint(
        complainant=PERSONAL,
        respondent={
            "name": "某某电器城",
            "district": "贵池区",
            "address": "池州市贵池区长江中路88号",
        },
        description=FREE_TEXT[0],
        claim=FREE_TEXT[1],
    )
    case_no = (await stack.call("POST", "/api/v1/cases", "operator", json=body)).json()["case_no"]
    steps = [
        ("triage", "operator", {"decision": "accept", "unit": "guichi"}),
        (
            "handle",
            "guichi",
            {"outcome": "agreement", "summary": FREE_TEXT[2], "reply": FREE_TEXT[3]},
        ),
        (
            "callback",
            "operator",
            {"reached": True, "satisfaction": "satisfied", "comment": FREE_TEXT[4]},
        ),
    ]
    for kind, user, completion in steps:
        task = await open_task(stack, case_no, kind, user)
        done = await stack.call(
            "POST", f"/api/v1/tasks/{task['id']}/complete", user, json=completion
        )
        assert done.status_code == 200, done.text

    history = await stack.client.get_workflow_handle(workflow_id(case_no)).fetch_history()
    texts = payload_texts(history.to_json_dict())
    stored = "\n".join(texts)
    assert case_no in stored, "the check reads the payloads (positive control)"
    assert '"closed"' in stored
    for secret in [*PERSONAL.values(), "池州市贵池区长江中路88号", *FREE_TEXT]:
        assert secret not in stored, f"{secret!r} leaked into the workflow history"
    # The database, which owns personal data, does hold them.
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["complainant"]["phone"] == PERSONAL["phone"]


async def test_no_personal_data_or_free_text_in_the_mediation_histories(stack: Stack) -> None:
    """Attendees, minutes, consents and agreements stay in the database: neither the
    complaint's workflow nor its mediation's carries them."""
    secrets = ["调解笔录：双方同意由检测机构出具报告", "消费者同意调解，签字确认", "商家退还货款"]
    case_no = await mediation.accepted(stack, complainant=PERSONAL)
    session = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/mediation/sessions",
        "guichi",
        json={
            "held_on": mediation.today(),
            "attendees": [{"name": PERSONAL["name"], "role": "complainant"}],
            "minutes": secrets[0],
        },
    )
    assert session.status_code == 201, session.text
    await mediation.terminate(stack, case_no)
    for party in ("complainant", "respondent"):
        given = await mediation.consent(stack, case_no, "people_mediation", party, note=secrets[1])
        assert given.status_code == 201, given.text
    await mediation.done(
        stack,
        case_no,
        "notify_termination",
        "guichi",
        mediation.notice("people", mediation.COMMITTEE),
    )
    await mediation.done(
        stack, case_no, "committee_result", "guichi", mediation.agreement(summary=secrets[2])
    )
    await mediation.done(stack, case_no, "judicial_application", "guichi", {"decision": "declined"})

    stored = ""
    for workflow in (workflow_id(case_no), mediation_id(case_no, 1)):
        history = await stack.client.get_workflow_handle(workflow).fetch_history()
        stored += "\n".join(payload_texts(history.to_json_dict()))
    assert case_no in stored and "notify_termination" in stored, "positive control"
    for secret in [*PERSONAL.values(), *secrets]:
        assert secret not in stored, f"{secret!r} leaked into a workflow history"
