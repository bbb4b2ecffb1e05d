"""Recorded histories must keep replaying against the current workflow code.

A change to a workflow that running cases would not survive fails here: guard it with
``workflow.patched`` and record a new history next to the old ones
(``tests/workflows/record_histories.py``). ``complaint_*`` predate the supervision
ladder, ``v2_*`` the mediation ladder; ``v3_*`` hold complaints with their mediations
(``*.mediation-<n>.json``) and a report; ``v5_*`` the files that are not consumers'
cases (the bulletin, the demonstration-site lists, a station's rectification, a campaign)
and the workflows their schedules start; ``v6_*`` cases registered with their first step (their
workflow starts from its result, in its input) and complaints whose mediations start with
their first snapshot and conclude them in their last step (patch ``mediation-concludes-v1``);
``v7_*`` the same flows with each step a local activity (patch ``local-steps-v1``).
"""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
    )
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_of_every_workflow_type_are_present() -> None:
    types = {
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"][
            "workflowType"
        ]["name"]
        for p in HISTORIES
    }
    assert types == {
        "ComplaintWorkflow",
        "MediationWorkflow",
        "ReportWorkflow",
        "AuditCheckpointWorkflow",
        "BulletinWorkflow",
        "MonthlyBulletin",
        "DutyWorkflow",
        "YearlyDemonstrations",
        "YearlyCampaigns",
    }
