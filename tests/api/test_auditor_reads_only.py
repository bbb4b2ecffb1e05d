"""Auditors read every case and change nothing: every write route of the API, taken from
its route table, answers the auditor 403, and the case stays as it was."""

from datetime import datetime
from typing import Any

from tests.conftest import Stack, open_task, register
from tests.factories import ZONE

WRITES = {"post", "put", "patch", "delete"}
# Signing in writes a login attempt, and is what every reader does first.
NOT_A_CHANGE = {("post", "/api/v1/auth/token")}


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


STATION = {
    "name": "池阳街道12315联络站",
    "type": "liaison",
    "branch": "guichi",
    "township": "341702001",
    "opened_on": "2026-01-05",
}


def bodies() -> dict[str, Any]:
    """A well-formed body for each write route, so only who asks can be refused."""
    reason = {"reason": "审计人员试图修改"}
    return {
        "/api/v1/cases": {
            "channel": "hotline",
            "complainant": {"name": "张三"},
            "respondent": {"name": "某商场"},
            "description": "审计人员试图登记",
        },
        "/api/v1/cases/{case_no}/withdraw": reason,
        "/api/v1/cases/{case_no}/reports": {"description": "审计人员试图举报"},
        "/api/v1/cases/{case_no}/deadlines/{name}/pause": reason,
        "/api/v1/cases/{case_no}/deadlines/{name}/resume": {},
        "/api/v1/cases/{case_no}/deadlines/{name}/extension": {"working_days": 5, **reason},
        "/api/v1/tasks/{task_id}/claim": None,
        "/api/v1/tasks/{task_id}/release": None,
        "/api/v1/tasks/{task_id}/complete": {"outcome": "return", "reason": "审计人员试图退回"},
        "/api/v1/cases/{case_no}/mediation/sessions": {
            "held_on": today(),
            "place": "调解室",
            "attendees": [{"name": "张三", "role": "complainant"}],
            "minutes": "审计人员试图记录",
        },
        "/api/v1/cases/{case_no}/mediation/consents": {
            "purpose": "people_mediation",
            "party": "complainant",
            "given": True,
            "given_on": today(),
            "form": "written",
        },
        "/api/v1/rules/{code}": {},
        "/api/v1/calendar/{year}": {"holidays": [], "workdays": []},
        "/api/v1/supervision/incidents/{incident_id}/retry": None,
        "/api/v1/users/{username}/unlock": None,
        "/api/v1/users": {
            "username": "auditor-made",
            "password": "long-enough-1",
            "role": "admin",
            "unit": "city",
        },
        "/api/v1/users/{username}": {"active": False},
        "/api/v1/users/{username}/password": {"password": "long-enough-1"},
        "/api/v1/audit/checkpoints": None,
        "/api/v1/bulletins": {"month": "2026-11"},
        "/api/v1/bulletins/{month}/draft": {"foreword": ["审计人员试图修改"], "criticisms": []},
        "/api/v1/bulletins/{month}/corrections": reason,
        "/api/v1/stations": {**STATION, "code": "st-auditor"},
        "/api/v1/stations/{code}": {**STATION, "version": 1},
        "/api/v1/stations/{code}/close": {"closed_on": today(), "reason": "审计", "version": 1},
        "/api/v1/stations/{code}/assessments": {
            "year": 2026,
            "assessed_on": today(),
            "scores": {"sign": 10},
        },
        "/api/v1/stations/demonstrations": {"year": int(today()[:4])},
        "/api/v1/campaigns": {
            "code": "auditor-made",
            "name": "审计",
            "starts_on": today(),
            "ends_on": today(),
        },
        "/api/v1/campaigns/years": {"year": int(today()[:4])},
        "/api/v1/campaigns/{code}": {
            "name": "审计",
            "starts_on": today(),
            "ends_on": today(),
            "version": 1,
        },
        "/api/v1/cases/{case_no}/campaign": {"campaign": None},
        "/api/v1/monitoring/plans": {
            "year": 2027,
            "targets": [{"commodity": "appliances", "area": "village", "target": 1}],
        },
        "/api/v1/monitoring/plans/{year}": {
            "targets": [{"commodity": "appliances", "area": "village", "target": 1}],
            "version": 1,
        },
        "/api/v1/monitoring/batches": {"code": "auditor-made", "year": 2027, "name": "审计"},
        "/api/v1/monitoring/batches/{code}/samples": {
            "sample_no": "A1",
            "unit": "guichi",
            "area": "village",
            "outlet": "审计",
            "business": "审计",
            "credit_code": "91341702MA2N00000X",
            "commodity": "appliances",
            "product": "审计",
            "sampled_on": today(),
            "tested_by": "审计",
            "passed": True,
        },
        # multipart: the file is sent by the loop below
        "/api/v1/monitoring/batches/{code}/imports": None,
        "/api/v1/monitoring/batches/{code}/publish": None,
        "/api/v1/monitoring/samples/{sample_no}/report": None,
        "/api/v1/reviews": {
            "code": "auditor-made",
            "sector": "electricity",
            "name": "审计",
            "starts_on": today(),
            "ends_on": today(),
            "businesses": [{"credit_code": "91341702MA2N00000X", "name": "审计"}],
        },
        "/api/v1/reviews/{code}": {
            "name": "审计",
            "starts_on": today(),
            "ends_on": today(),
            "businesses": [{"credit_code": "91341702MA2N00000X", "name": "审计"}],
            "version": 1,
        },
        "/api/v1/reviews/{code}/findings": {
            "credit_code": "91341702MA2N00000X",
            "point": "repair",
            "description": "审计",
            "found_on": today(),
        },
        "/api/v1/reference/{name}": {"version": 0, "content": {}},
        "/api/v1/divisions": {"code": "341702001099", "name": "审计", "township": "341702001"},
        "/api/v1/divisions/{code}": {"branch": "kaifaqu"},
        "/api/v1/divisions/{code}/retire": {"reason": "审计"},
    }


async def test_every_write_route_refuses_the_auditor(stack: Stack) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    accepted = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert accepted.status_code == 200, accepted.text
    handle = await open_task(stack, case_no, "handle", "guichi")
    before = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()

    schema = (await stack.api.get("/openapi.json")).json()
    writes = [
        (method, path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
        if method in WRITES and (method, path) not in NOT_A_CHANGE
    ]
    known = bodies()
    assert {path for _, path in writes} == set(known), "a write route this test does not know"
    values = {
        "case_no": case_no,
        "name": "handle",
        "task_id": handle["id"],
        "code": "samr-order-20",
        "year": 2027,
        "incident_id": 1,
        "username": "guichi",
        "month": "2026-11",
        "sample_no": "A1",
    }
    answers = {}
    for method, path in writes:
        url = path.format(**{k: v for k, v in values.items() if "{" + k + "}" in path})
        body = known[path]
        sent: dict[str, Any] = {} if body is None else {"json": body}
        if path.endswith("/imports"):
            sent = {"files": {"file": ("审计.xlsx", b"PK", "application/octet-stream")}}
        response = await stack.call(method.upper(), url, "auditor", **sent)
        answers[f"{method.upper()} {path}"] = response.status_code
    assert set(answers.values()) == {403}, answers

    after = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    assert after == before
    assert (await stack.call("GET", f"/api/v1/tasks/{handle['id']}", "auditor")).json()[
        "status"
    ] == "open"
