"""The database is the read model of the supervision views; Temporal's visibility (the
search attributes the workflows publish) must tell the same story."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType

from api.workdays import ZONE
from tests import mediation
from tests.conftest import Stack, open_task, register, step_summaries
from tests.factories import eventually
from workflows.complaint import workflow_id

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def visible(stack: Stack, query: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    async for execution in stack.client.list_workflows(query):
        attrs = execution.typed_search_attributes
        case_no = next(p.value for p in attrs if p.key.name == "CaseNo")
        found[str(case_no)] = {p.key.name: p.value for p in attrs}
    return found


@SQLITE_ONLY
async def test_the_overdue_list_agrees_with_a_visibility_query(stack: Stack) -> None:
    prefix = stack.settings.case_no_prefix
    late = (datetime.now(ZONE) - timedelta(days=30)).isoformat()
    overdue = {await register(stack, received_at=late) for _ in range(3)}
    on_time = await register(stack)
    handled = await register(stack)
    triage = await open_task(stack, handled, "triage", "operator")
    accepted = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert accepted.status_code == 200, accepted.text

    async def listed() -> set[str] | None:
        response = await stack.call("GET", "/api/v1/supervision/overdue", "supervisor")
        assert response.status_code == 200, response.text
        mine = {row["case_no"] for row in response.json()["data"]}
        return mine if mine >= overdue else None

    from_database = await listed_until(listed)
    assert from_database == overdue

    query = f"CaseNo STARTS_WITH '{prefix}' AND Overdue = true"

    async def agreed() -> dict[str, dict[str, Any]] | None:
        found = await visible(stack, query)
        return found if set(found) == from_database else None

    from_temporal = await eventually(agreed, timeout=30, interval=0.5)
    assert set(from_temporal) == from_database
    assert on_time not in from_temporal and handled not in from_temporal
    assert all(attrs["Supervised"] is True for attrs in from_temporal.values())
    assert all(attrs["CaseStatus"] == "triage" for attrs in from_temporal.values())

    def handling(kind: str) -> Any:
        async def check() -> dict[str, dict[str, Any]] | None:
            found = await visible(
                stack,
                f"CaseNo STARTS_WITH '{prefix}' AND HandlingUnit = 'guichi' "
                f"AND CaseKind = '{kind}'",
            )
            return found if set(found) == {handled} else None

        return check

    guichi = await eventually(handling("complaint"), timeout=30, interval=0.5)
    assert guichi[handled]["CaseStatus"] == "handling"
    assert guichi[handled]["Overdue"] is False
    # The handling deadline is timed by the case's mediation workflow, which publishes it.
    mediating = await eventually(handling("mediation"), timeout=30, interval=0.5)
    case = (await stack.call("GET", f"/api/v1/cases/{handled}", "supervisor")).json()
    due = next(d["due_at"] for d in case["deadlines"] if d["name"] == "handle")
    assert mediating[handled]["NextDeadline"] == datetime.fromisoformat(due)
    assert mediating[handled]["Overdue"] is False


async def listed_until(check: Any) -> Any:
    return await eventually(check, timeout=30)


@SQLITE_ONLY
async def test_the_temporal_ui_names_each_step_of_a_case(stack: Stack) -> None:
    """Every ``record_step`` in a case's timeline carries a summary naming its step, so an
    operator reading the Temporal UI sees "triage", not the same activity name again. A
    step runs as a local activity (``local-steps-v1``): its marker carries the summary."""
    case_no = await mediation.accepted(stack)
    history = await stack.client.get_workflow_handle(workflow_id(case_no)).fetch_history()
    # The first step (open_triage) came with the registration, in the workflow's input.
    assert step_summaries(history) == ["triage"]
    assert not any(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events
    )
