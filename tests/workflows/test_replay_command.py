"""The replay command (scripts/replay.py) finds the histories today's code no longer
reproduces, and is the worked example of changing a workflow while cases are running.

The example: a new step at the start of ``ComplaintWorkflow`` breaks every recorded
complaint, with the case and the first diverging event named; the same change behind
``workflow.patched`` replays them all, because a case started before the change takes
the old path again when its history is replayed.
"""

from pathlib import Path

from scripts.replay import case_no_of, from_files, from_temporal, query_for, replay
from tests.conftest import Stack, open_task, register
from tests.factories import eventually
from tests.workflows.changed_workflows import WaitsFirst, WaitsFirstIfNew
from workflows.mediation import MediationWorkflow
from workflows.report import ReportWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
COMPLAINTS = [p for p in HISTORIES if "ComplaintWorkflow" in p.read_text()[:2000]]


async def test_every_recorded_history_replays_against_todays_code() -> None:
    outcome = await replay(from_files(HISTORIES))
    assert outcome.replayed == len(HISTORIES)
    assert outcome.divergences == []


async def test_an_unguarded_change_is_reported_with_its_case_and_first_diverging_event() -> None:
    assert COMPLAINTS
    outcome = await replay(
        from_files(COMPLAINTS), workflows=[WaitsFirst, MediationWorkflow, ReportWorkflow]
    )
    assert outcome.replayed == len(COMPLAINTS)
    assert {d.workflow_id for d in outcome.divergences} == {p.stem for p in COMPLAINTS}
    # Events 1-4 start the workflow and run its first task; event 5 is what that task's
    # first command recorded, which the timer added before the first step no longer matches.
    assert {d.event for d in outcome.divergences} == {5}
    assert all("Nondeterminism" in d.error for d in outcome.divergences)


async def test_the_change_behind_workflow_patched_keeps_every_case_replaying() -> None:
    outcome = await replay(
        from_files(COMPLAINTS), workflows=[WaitsFirstIfNew, MediationWorkflow, ReportWorkflow]
    )
    assert outcome.divergences == []


async def test_a_case_is_replayed_from_a_running_temporal_by_its_number(stack: Stack) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    referred = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "refer", "to": "县税务局", "reason": "属税务部门职责"},
    )
    assert referred.status_code == 200, referred.text

    async def listed() -> int | None:
        found = [w async for w in stack.client.list_workflows(query_for(cases=[case_no]))]
        return len(found) or None

    await eventually(listed)
    outcome = await replay(from_temporal(stack.client, query_for(cases=[case_no])))
    assert outcome.replayed == 1
    assert outcome.divergences == []


def test_a_workflow_id_names_its_case() -> None:
    assert case_no_of("complaint-TS20261202000001") == "TS20261202000001"
    assert case_no_of("report-JB20261202000002") == "JB20261202000002"
    assert case_no_of("mediation-TS20261202000001-3") == "TS20261202000001"
