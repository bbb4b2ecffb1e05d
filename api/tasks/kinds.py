"""One entry per task kind: everything the service knows of a kind, in one place.

An entry gives the kind's Chinese label, who may act on it, its completion model (the
form), the workflow update a completion is sent as with that update's input, and the
recorded step it ends in. The forms' schemas, the inbox's labels, the update a completion
is sent as and the mediation's work table are all read from here, and a test holds the
table against the workflows (``tests/unit/test_task_kinds.py``).

Adding a kind: its entry here (and its ``TaskKind`` and form), its step, and its update in
the workflow. Nothing else.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

from api.tasks import forms
from api.tasks.models import TaskKind
from api.users.models import Role
from workflows.case import CaseWorkflow
from workflows.complaint import ComplaintWorkflow
from workflows.messages import (
    CallbackInput,
    ExtensionDecisionInput,
    HandlingInput,
    StepName,
    SuperviseInput,
    TaskInput,
    TriageInput,
)

# An update's input, from the task's id, the submission's id and the parsed body.
ArgFor = Callable[[int, str, BaseModel | None], BaseModel]


def _task_input(kind: TaskKind) -> ArgFor:
    return lambda task_id, submission_id, body: TaskInput(
        task_id=task_id, submission_id=submission_id, kind=kind
    )


def _triage(task_id: int, submission_id: str, body: BaseModel | None) -> TriageInput:
    assert isinstance(body, forms.AcceptTriage | forms.RejectTriage | forms.ReferTriage)
    return TriageInput(task_id=task_id, submission_id=submission_id, decision=body.decision)


def _handling(task_id: int, submission_id: str, body: BaseModel | None) -> HandlingInput:
    assert isinstance(body, forms.Agreement | forms.Termination | forms.Return)
    return HandlingInput(task_id=task_id, submission_id=submission_id, outcome=body.outcome)


def _callback(task_id: int, submission_id: str, body: BaseModel | None) -> CallbackInput:
    assert isinstance(body, forms.CallbackBody)
    return CallbackInput(task_id=task_id, submission_id=submission_id, reached=body.reached)


def _supervise(task_id: int, submission_id: str, body: BaseModel | None) -> SuperviseInput:
    assert isinstance(body, forms.Urge | forms.Extend | forms.Reassign)
    return SuperviseInput(task_id=task_id, submission_id=submission_id, action=body.action)


def _extension_decision(
    task_id: int, submission_id: str, body: BaseModel | None
) -> ExtensionDecisionInput:
    assert isinstance(body, forms.ExtensionDecision)
    return ExtensionDecisionInput(
        task_id=task_id, submission_id=submission_id, approve=body.approve
    )


@dataclass(frozen=True)
class Kind:
    code: TaskKind
    label: str  # 中文名称，工作台与导出所用
    role: Role  # who acts on it, in the task's unit (the city supervisor in every unit)
    form: TypeAdapter[Any]  # the completion body: a model, or a union of models
    update: Callable[..., Any]  # the workflow update a completion is sent as
    arg: ArgFor  # that update's input
    step: StepName  # the recorded step the completion ends in
    # A watcher (督办, 延期审批) watches a deadline another task is bounded by; it is the
    # case's workflow's, even while a mediation holds the work.
    watcher: bool = False
    # The deadline (a limit of the rule set) that bounds it, when a rung of the ladder
    # opens it; None where the step that opens it chooses.
    limit: str | None = None


def _ladder(code: TaskKind, label: str, role: Role, form: TypeAdapter[Any], limit: str) -> Kind:
    """A rung's task: completed through the mediation's workflow (``complete_task``)."""
    return Kind(
        code,
        label,
        role,
        form,
        CaseWorkflow.complete_task,
        _task_input(code),
        "complete_task",
        limit=limit,
    )


KINDS: dict[TaskKind, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            TaskKind.TRIAGE,
            "受理审查",
            Role.OPERATOR,
            TypeAdapter(forms.TriageBody),
            CaseWorkflow.triage,
            _triage,
            "triage",
        ),
        Kind(
            TaskKind.HANDLE,
            "行政调解",
            Role.HANDLER,
            TypeAdapter(forms.HandleBody),
            ComplaintWorkflow.complete_handling,
            _handling,
            "handle",
            limit="handle",
        ),
        Kind(
            TaskKind.CALLBACK,
            "回访",
            Role.OPERATOR,
            TypeAdapter(forms.CallbackBody),
            ComplaintWorkflow.record_callback,
            _callback,
            "callback",
        ),
        Kind(
            TaskKind.SUPERVISE,
            "督办",
            Role.SUPERVISOR,
            TypeAdapter(forms.SuperviseBody),
            CaseWorkflow.supervise,
            _supervise,
            "supervise",
            watcher=True,
        ),
        Kind(
            TaskKind.APPROVE_EXTENSION,
            "延期审批",
            Role.SUPERVISOR,
            TypeAdapter(forms.ExtensionDecision),
            CaseWorkflow.decide_extension,
            _extension_decision,
            "decide_extension",
            watcher=True,
        ),
        Kind(
            TaskKind.REVIEW,
            "回访不满意复核",
            Role.SUPERVISOR,
            TypeAdapter(forms.Review),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.REVIEW),
            "complete_task",
        ),
        Kind(
            TaskKind.REVIEW_BULLETIN,
            "审核发布通报",
            Role.SUPERVISOR,
            TypeAdapter(forms.PublishBulletin),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.REVIEW_BULLETIN),
            "complete_task",
        ),
        Kind(
            TaskKind.NAME_SITES,
            "申报示范点",
            Role.SUPERVISOR,
            TypeAdapter(forms.NameSites),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.NAME_SITES),
            "complete_task",
        ),
        Kind(
            TaskKind.REVIEW_SITES,
            "审核示范点名单",
            Role.SUPERVISOR,
            TypeAdapter(forms.ReviewSitesBody),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.REVIEW_SITES),
            "complete_task",
        ),
        Kind(
            TaskKind.RECTIFY,
            "站点整改",
            Role.HANDLER,
            TypeAdapter(forms.Rectified),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.RECTIFY),
            "complete_task",
        ),
        Kind(
            TaskKind.DELIST,
            "不合格商品退市",
            Role.HANDLER,
            TypeAdapter(forms.Delisted),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.DELIST),
            "complete_task",
        ),
        Kind(
            TaskKind.REVIEW_RECTIFIED,
            "评议整改落实",
            Role.SUPERVISOR,
            TypeAdapter(forms.Rectified),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.REVIEW_RECTIFIED),
            "complete_task",
        ),
        Kind(
            TaskKind.CAMPAIGN_BEHIND,
            "专项整治进度预警",
            Role.SUPERVISOR,
            TypeAdapter(forms.CampaignMeasures),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.CAMPAIGN_BEHIND),
            "complete_task",
        ),
        Kind(
            TaskKind.VERIFY,
            "举报核查",
            Role.HANDLER,
            TypeAdapter(forms.Verify),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.VERIFY),
            "complete_task",
        ),
        Kind(
            TaskKind.NOTIFY_REPORTER,
            "告知举报人",
            Role.HANDLER,
            TypeAdapter(forms.NotifyReporter),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.NOTIFY_REPORTER),
            "complete_task",
        ),
        Kind(
            TaskKind.INVESTIGATE,
            "立案调查",
            Role.HANDLER,
            TypeAdapter(forms.Investigate),
            CaseWorkflow.complete_task,
            _task_input(TaskKind.INVESTIGATE),
            "complete_task",
        ),
        _ladder(
            TaskKind.RECONCILE, "和解", Role.STATION, TypeAdapter(forms.ReconcileBody), "reconcile"
        ),
        _ladder(
            TaskKind.NOTIFY_TERMINATION,
            "终止调解告知",
            Role.HANDLER,
            TypeAdapter(forms.TerminationNotice),
            "termination_notice",
        ),
        _ladder(
            TaskKind.COMMITTEE_RESULT,
            "人民调解结果",
            Role.HANDLER,
            TypeAdapter(forms.CommitteeResultBody),
            "people_mediation",
        ),
        _ladder(
            TaskKind.JUDICIAL_APPLICATION,
            "申请司法确认",
            Role.HANDLER,
            TypeAdapter(forms.JudicialApplicationBody),
            "judicial_confirmation",
        ),
        _ladder(
            TaskKind.COURT_RULING,
            "司法确认裁定",
            Role.HANDLER,
            TypeAdapter(forms.CourtRulingBody),
            "court_ruling",
        ),
        _ladder(
            TaskKind.COURT_OUTCOME,
            "诉讼结果",
            Role.HANDLER,
            TypeAdapter(forms.CourtOutcomeBody),
            "court_outcome",
        ),
    )
}


# The completion body's JSON Schema per kind: a task's ``form``.
SCHEMAS: dict[TaskKind, dict[str, Any]] = {
    kind: entry.form.json_schema() for kind, entry in KINDS.items()
}

# The kinds that watch a deadline without being the work it bounds.
WATCHERS: frozenset[TaskKind] = frozenset(k for k, e in KINDS.items() if e.watcher)

LABELS: dict[str, str] = {k.value: e.label for k, e in KINDS.items()}


def parse(kind: TaskKind, body: object) -> BaseModel:
    """The completion body (JSON) as its kind's model; raises pydantic.ValidationError."""
    parsed = KINDS[kind].form.validate_python(body)
    assert isinstance(parsed, BaseModel)
    return parsed


def update_for(
    kind: TaskKind, *, task_id: int, on_ladder: bool, body: BaseModel | None
) -> tuple[Callable[..., Any], Callable[[str], BaseModel]]:
    """The workflow update that completes a task of ``kind``, and its input for a
    submission id. A task a mediation owns (``on_ladder``; its rung 1 is ``handle``) is
    completed through that mediation's workflow, a watcher's through the case's."""
    entry = KINDS[kind]
    if on_ladder and not entry.watcher:
        arg = _task_input(kind)
        return CaseWorkflow.complete_task, lambda submission_id: arg(task_id, submission_id, body)
    return entry.update, lambda submission_id: entry.arg(task_id, submission_id, body)
