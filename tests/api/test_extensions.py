"""A statutory extension (核查 +15 working days) is granted once, one request at a time,
and never on a paused clock: enforced where the step is applied, with a database
constraint behind it. Before, two requests sent before any approval both passed the check
at request time, and two approvals gave 30 working days where the law allows 15 once."""

import asyncio
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from api.tasks.models import Task, TaskKind, TaskStatus
from api.users.models import Role
from tests.api.test_reports import complete, report
from tests.conftest import Stack, open_task

ASK = {"working_days": 15, "reason": "涉及多个门店，需调取监控"}


async def in_verification(stack: Stack) -> str:
    created = await stack.call("POST", "/api/v1/cases", "operator", json=report())
    assert created.status_code == 201, created.text
    case_no: str = created.json()["case_no"]
    triage = await open_task(stack, case_no, "triage", "operator")
    await complete(stack, triage["id"], "operator", {"decision": "accept", "unit": "guichi"})
    await open_task(stack, case_no, "verify", "guichi")
    return case_no


async def ask(stack: Stack, case_no: str, body: dict[str, Any] = ASK) -> Any:
    return await stack.call(
        "POST", f"/api/v1/cases/{case_no}/deadlines/verify/extension", "guichi", json=body
    )


def verify_deadline(case: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in case["deadlines"] if d["name"] == "verify")


def open_requests(stack: Stack, case_no: str) -> list[Task]:
    with stack.db() as session:
        return list(
            session.exec(
                select(Task).where(
                    Task.case_no == case_no,
                    Task.kind == TaskKind.APPROVE_EXTENSION,
                    Task.status.in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),  # type: ignore[attr-defined]
                )
            ).all()
        )


def approval_request(case_no: str, deadline_id: int | None, status: TaskStatus) -> Task:
    """A supervisor's approve_extension task for the deadline, written straight to the table."""
    return Task(
        case_no=case_no,
        kind=TaskKind.APPROVE_EXTENSION,
        role=Role.SUPERVISOR,
        unit="city",
        deadline_id=deadline_id,
        status=status,
    )


async def test_two_requests_at_once_leave_one_open_and_one_refused(stack: Stack) -> None:
    case_no = await in_verification(stack)
    longer = {"working_days": 15, "reason": "涉及多个门店，需调取监控"}
    shorter = {"working_days": 10, "reason": "需补充询问笔录"}

    first, second = await asyncio.gather(ask(stack, case_no, longer), ask(stack, case_no, shorter))

    assert sorted([first.status_code, second.status_code]) == [200, 409], (
        first.text,
        second.text,
    )
    refused = first if first.status_code == 409 else second
    # Refused by whichever saw the other first: the workflow, the step, or the settling
    # of the other's decision; each says why.
    assert refused.json()["code"] in (
        "extension.pending",
        "decision.taken",
        "step.not_current",
    ), refused.text
    assert len(open_requests(stack, case_no)) == 1
    again = await ask(stack, case_no)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "extension.pending", again.text
    assert "waiting for approval" in again.json()["detail"]


async def test_the_same_request_sent_twice_at_once_is_one_request(stack: Stack) -> None:
    case_no = await in_verification(stack)

    answers = await asyncio.gather(ask(stack, case_no), ask(stack, case_no))

    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    assert 200 in {a.status_code for a in answers}
    assert len(open_requests(stack, case_no)) == 1


async def test_an_extension_is_granted_once_by_the_figure_of_the_law(stack: Stack) -> None:
    case_no = await in_verification(stack)
    before = verify_deadline(
        (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    )
    too_long = await ask(stack, case_no, {**ASK, "working_days": 16})
    assert too_long.status_code == 422, too_long.text
    assert (await ask(stack, case_no)).status_code == 200
    approval = await open_task(stack, case_no, "approve_extension", "supervisor")
    await complete(stack, approval["id"], "supervisor", {"approve": True, "reason": "同意"})

    second = await ask(stack, case_no, {**ASK, "working_days": 5})

    assert second.status_code == 409, second.text
    assert second.json()["code"] == "extension.already_granted"
    assert "once" in second.json()["detail"]
    after = verify_deadline(
        (await stack.call("GET", f"/api/v1/cases/{case_no}", "supervisor")).json()
    )
    assert after["extended_working_days"] == 15
    assert after["due_date"] > before["due_date"]
    assert open_requests(stack, case_no) == []


async def test_a_paused_clock_is_resumed_before_more_time_is_asked_for(stack: Stack) -> None:
    case_no = await in_verification(stack)
    paused = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/verify/pause",
        "guichi",
        json={"reason": "样品送省质检院检测"},
    )
    assert paused.status_code == 200, paused.text

    asked = await ask(stack, case_no)

    assert asked.status_code == 409, asked.text
    assert asked.json()["code"] == "deadline.paused"
    assert "paused" in asked.json()["detail"] and "resume" in asked.json()["detail"]
    assert open_requests(stack, case_no) == []


async def test_the_database_refuses_a_second_open_request_for_one_deadline(
    stack: Stack,
) -> None:
    case_no = await in_verification(stack)
    assert (await ask(stack, case_no)).status_code == 200
    [request] = open_requests(stack, case_no)

    with stack.db() as session, pytest.raises(IntegrityError):
        session.add(approval_request(case_no, request.deadline_id, TaskStatus.OPEN))
        session.commit()
    # A decided (or cancelled) request does not count: the next may be asked for then.
    with stack.db() as session:
        session.add(approval_request(case_no, request.deadline_id, TaskStatus.DONE))
        session.commit()
