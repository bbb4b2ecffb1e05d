"""The task-kind registry holds together: every kind has an entry, and every entry names a
step the engine applies and an update a workflow defines, with the input it takes."""

from typing import get_args

import pytest
from temporalio.workflow import _Definition

from api.bulletins import steps as bulletins
from api.campaigns import steps as campaign_steps
from api.cases import steps as cases
from api.clock import steps as clock
from api.config import Settings
from api.internal.engine import STEPS, STEPS_OF_KIND
from api.mediation import steps as mediation
from api.monitoring import steps as monitoring_steps
from api.reviews import steps as review_steps
from api.rules.rulesets import RuleBook
from api.stations import steps as station_steps
from api.supervision import steps as supervision
from api.tasks import kinds
from api.tasks.kinds import KINDS
from api.tasks.models import TaskKind
from workflows.bulletin import BulletinWorkflow
from workflows.case import TASK_OF_STEP
from workflows.complaint import ComplaintWorkflow
from workflows.mediation import MediationWorkflow
from workflows.messages import StepName
from workflows.report import ReportWorkflow

WORKFLOWS = (ComplaintWorkflow, ReportWorkflow, MediationWorkflow, BulletinWorkflow)


def updates() -> dict[str, list[type]]:
    """Each update a case workflow defines, by name, with its input types."""
    found: dict[str, list[type]] = {}
    for workflow in WORKFLOWS:
        for name, update in _Definition.from_class(workflow).updates.items():
            assert update.arg_types is not None
            found[name] = list(update.arg_types)
    return found


def test_every_task_kind_has_one_entry() -> None:
    assert set(KINDS) == set(TaskKind)
    assert all(entry.code is kind for kind, entry in KINDS.items())
    assert set(kinds.SCHEMAS) == set(TaskKind)
    assert set(kinds.LABELS) == {k.value for k in TaskKind}


@pytest.mark.parametrize("kind", list(TaskKind))
def test_an_entry_names_a_step_and_an_update_that_exist(kind: TaskKind) -> None:
    entry = KINDS[kind]
    assert entry.step in get_args(StepName)
    assert entry.step in STEPS
    defined = updates()
    name = entry.update.__name__
    assert name in defined, f"{kind}: no workflow defines the update {name}"
    sent = entry.arg(7, "s-1", _example_body(kind))
    assert type(sent) in defined[name]
    # A kind the workflow completes by a step of its own is the kind that step expects.
    if entry.step != "complete_task":
        assert TASK_OF_STEP[entry.step] == kind.value


def test_a_rung_of_the_ladder_is_completed_through_its_mediation() -> None:
    for kind in mediation.LADDER_KINDS:
        update, arg_for = kinds.update_for(kind, task_id=3, on_ladder=True, body=None)
        assert update.__name__ == "complete_task"
        assert arg_for("s-2").model_dump() == {"task_id": 3, "submission_id": "s-2", "kind": kind}
    for kind in kinds.WATCHERS:
        update, _ = kinds.update_for(kind, task_id=3, on_ladder=True, body=_example_body(kind))
        assert update.__name__ == KINDS[kind].update.__name__


def test_the_work_of_every_rung_is_bounded_by_a_limit_of_the_rule_sets() -> None:
    book = RuleBook.load(Settings().rules_file)
    for stage, kind in mediation.WORK.items():
        limit = KINDS[kind].limit
        assert limit is not None, stage
        for ruleset in book.rulesets:
            ruleset.limit(limit)  # raises KeyError if the rule set lacks it


def _example_body(kind: TaskKind) -> object:
    """A parsed body of the kind, for the updates whose input carries one of its facts."""
    examples = {
        TaskKind.TRIAGE: {"decision": "refer", "to": "税务局", "reason": "不属本局职责"},
        TaskKind.HANDLE: {"outcome": "return", "reason": "非本单位管辖"},
        TaskKind.CALLBACK: {"reached": False},
        TaskKind.SUPERVISE: {"action": "urge"},
        TaskKind.APPROVE_EXTENSION: {"approve": True, "reason": "案情复杂"},
    }
    return kinds.parse(kind, examples[kind]) if kind in examples else None


def test_every_recorded_step_has_one_function() -> None:
    tables = [cases.STEPS, clock.STEPS, supervision.STEPS, mediation.STEPS]
    assert sum(len(t) for t in tables) == len(STEPS), "two concepts claim one step"
    # A bulletin's file takes its own steps: its draft, and its review task's completion.
    # A duty's (示范点名单, 整改) its opening and its tasks' completions, and the escalation.
    assert STEPS_OF_KIND == {
        "bulletin": bulletins.STEPS,
        "demonstration": station_steps.DEMONSTRATION_STEPS,
        "rectification": station_steps.RECTIFICATION_STEPS,
        "campaign": campaign_steps.STEPS,
        "delisting": monitoring_steps.STEPS,
        "review": review_steps.REVIEW_STEPS,
        "review_order": review_steps.ORDER_STEPS,
    }
    # A campaign's: its opening, its stops reached, a branch's answer to a warning.
    assert set(campaign_steps.STEPS) == {
        "open_duty",
        "deadline_passed",
        "complete_task",
        "recompute",
    }
    assert set(bulletins.STEPS) == {"draft_bulletin", "complete_task"}
    for duty in (station_steps.DEMONSTRATION_STEPS, station_steps.RECTIFICATION_STEPS):
        assert set(duty) - set(supervision.STEPS) - set(clock.STEPS) == {
            "open_duty",
            "complete_task",
        }
        assert set(supervision.STEPS) <= set(duty)
    every = set(STEPS) | set(bulletins.STEPS) | set(station_steps.DEMONSTRATION_STEPS)
    assert every == set(get_args(StepName))
