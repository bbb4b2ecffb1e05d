"""Plain helpers that walk a complaint up the mediation ladder over the HTTP API."""

from datetime import datetime
from typing import Any

import httpx

from tests.conftest import Stack, open_task, register
from tests.factories import ZONE

COMMITTEE = "guichi-consumer"
COMMITTEE_NAME = "贵池区消费纠纷人民调解委员会"
COURT = "池州市贵池区人民法院"


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


async def complete(
    stack: Stack, case_no: str, kind: str, as_: str, body: dict[str, Any]
) -> httpx.Response:
    """Completes the case's open task of ``kind``; the response, whatever it is."""
    task = await open_task(stack, case_no, kind, as_)
    return await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", as_, json=body)


async def done(stack: Stack, case_no: str, kind: str, as_: str, body: dict[str, Any]) -> None:
    response = await complete(stack, case_no, kind, as_, body)
    assert response.status_code == 200, response.text


async def case_of(stack: Stack, case_no: str, as_: str = "supervisor") -> dict[str, Any]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}", as_)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def deadline(stack: Stack, case_no: str, name: str) -> dict[str, Any]:
    """The case's latest deadline of that name."""
    case = await case_of(stack, case_no)
    return [d for d in case["deadlines"] if d["name"] == name][-1]


async def event_types(stack: Stack, case_no: str) -> list[str]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")
    assert response.status_code == 200, response.text
    return [e["type"] for e in response.json()["events"]]


async def accepted(stack: Stack, unit: str = "guichi", **overrides: Any) -> str:
    """A complaint accepted to ``unit``: in administrative mediation (rung 1)."""
    case_no = await register(stack, **overrides)
    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": unit})
    return case_no


async def terminate(stack: Stack, case_no: str, unit: str = "guichi") -> None:
    await done(
        stack,
        case_no,
        "handle",
        unit,
        {"outcome": "terminated", "ground": "T21-4", "reply": "双方分歧较大，终止调解"},
    )


async def consent(
    stack: Stack,
    case_no: str,
    purpose: str,
    party: str,
    *,
    given: bool = True,
    unit: str = "guichi",
    note: str | None = None,
) -> httpx.Response:
    return await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/mediation/consents",
        unit,
        json={
            "purpose": purpose,
            "party": party,
            "given": given,
            "given_on": today(),
            "form": "written",
            "note": note,
        },
    )


async def both_consent(stack: Stack, case_no: str, purpose: str, unit: str = "guichi") -> None:
    for party in ("complainant", "respondent"):
        response = await consent(stack, case_no, purpose, party, unit=unit)
        assert response.status_code == 201, response.text


def notice(next_: str, committee: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complainant": "phone",
        "respondent": "letter",
        "told_on": today(),
        "next": next_,
    }
    if committee is not None:
        body["committee"] = committee
    return body


async def to_committee(stack: Stack, unit: str = "guichi") -> str:
    """A complaint whose mediation failed, referred with consent to people's mediation."""
    case_no = await accepted(stack, unit)
    await terminate(stack, case_no, unit)
    await both_consent(stack, case_no, "people_mediation", unit)
    await done(stack, case_no, "notify_termination", unit, notice("people", COMMITTEE))
    return case_no


def agreement(**overrides: Any) -> dict[str, Any]:
    body = {
        "result": "agreement",
        "signed_on": today(),
        "summary": "经调解，商家退还货款并赔偿",
        "amount_recovered": "3200.00",
    }
    body.update(overrides)
    return body


async def to_window(stack: Stack, unit: str = "guichi") -> str:
    """A complaint whose people's mediation reached an agreement today: the 30 days to
    apply for judicial confirmation run."""
    case_no = await to_committee(stack, unit)
    await done(stack, case_no, "committee_result", unit, agreement())
    return case_no


def applied() -> dict[str, Any]:
    return {"decision": "applied", "court": COURT, "applied_on": today()}


async def to_court(stack: Stack, unit: str = "guichi") -> str:
    """A complaint whose parties applied jointly for judicial confirmation today."""
    case_no = await to_window(stack, unit)
    await both_consent(stack, case_no, "judicial_confirmation", unit)
    await done(stack, case_no, "judicial_application", unit, applied())
    return case_no


async def to_litigation(stack: Stack, unit: str = "guichi") -> str:
    """A complaint whose mediation failed and whose complainant was guided to sue."""
    case_no = await accepted(stack, unit)
    await terminate(stack, case_no, unit)
    await done(stack, case_no, "notify_termination", unit, notice("litigation"))
    return case_no
