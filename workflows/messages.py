"""The data that crosses the workflow boundary: inputs, results, updates, queries.

Case numbers, ids and non-personal facts only. Names, phones, addresses and free text
(replies, reasons, comments) stay in the database; an update carries the id of the
submission the API stored instead.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

StepName = Literal[
    "open_triage",  # 登记 → 受理审查
    "triage",  # 受理 / 不予受理 / 移送
    "handle",  # 调解结果与答复
    "callback",  # 回访
    "supervise",  # 督办：催办 / 延期 / 改派
    "withdraw",  # 撤回
    "deadline_passed",  # 超期
    "ladder",  # 督办（escalation）：预警 / 催办通知书 / 通报批评与责任追究
    "pause",  # 鉴定检测：计时中止
    "resume",  # 鉴定检测结束：恢复计时
    "request_extension",  # 承办人申请延期
    "decide_extension",  # 督办人审批延期
    "recompute",  # 日历变更：重算期限
    "complete_task",  # 核查、调查、告知举报人、调解阶梯各级 …
    "open_mediation",  # 调解流程开始：接手其第一级
    "end_mediation",  # 投诉已结束（撤回）：调解流程随之结束
    "conclude_mediation",  # 调解阶梯的最终结果：答复、办结或转受理
    "draft_bulletin",  # 通报：草稿生成，送市局督办人审核
    "open_duty",  # 示范点、整改：任务下达承办单位，定下期限
]


def mediation_id(case_no: str, number: int) -> str:
    """``mediation-<case_no>-<number>``: the workflow of the case's n-th run of the ladder."""
    return f"mediation-{case_no}-{number}"


# A rung of the escalation of a late deadline (督办), as the step ``ladder`` records it.
EscalationRung = Literal["warning", "notice", "criticism"]


# The key of a case's first step (``open_triage``), which the API applies with the case's
# registration since cases carry it in their input (``FirstStep``).
FIRST_STEP_KEY = "1:open_triage"


class FirstStep(BaseModel):
    """A case's first step as its registration applied it: the workflow starts from its
    result instead of recording the step itself."""

    key: str
    result: "StepResult"


class ComplaintInput(BaseModel):
    case_no: str
    # Absent for cases registered before, or by a route that leaves the first step to the
    # workflow (a report a failed sample or a review opens).
    first: FirstStep | None = None


class ReportInput(BaseModel):
    case_no: str
    first: FirstStep | None = None


class ComplaintResult(BaseModel):
    case_no: str
    status: str


class BulletinRequest(BaseModel):
    """A month's bulletin asked for: by hand for ``month``, or by the schedule (None: the
    month before the schedule's time)."""

    month: str | None = None  # yyyy-mm


class BulletinOpen(BaseModel):
    """The month to open a bulletin of (``month``, or the one before ``at``)."""

    month: str | None
    at: datetime


class BulletinOpened(BaseModel):
    case_no: str  # the bulletin's file, e.g. TB202611V1
    month: str
    version: int


class BulletinInput(BaseModel):
    case_no: str


class DutyInput(BaseModel):
    """A duty's file (示范点名单, 整改) and its kind, which says its steps."""

    case_no: str
    kind: str  # api.casefile.lifecycle.DUTIES
    # Its deadlines are escalated when late (a campaign's stops are only days it looks).
    escalation: bool = True


class DemonstrationRequest(BaseModel):
    """A year's demonstration-site lists asked for: by hand for ``year``, or by the
    schedule (None: the year of the schedule's time)."""

    year: int | None = None


class DemonstrationOpen(BaseModel):
    year: int | None
    at: datetime


class DemonstrationOpened(BaseModel):
    year: int
    case_nos: list[str]  # one file per branch


class CampaignsRequest(BaseModel):
    """A year's campaigns asked for: by hand for ``year``, or by the schedule (None: the
    year of the schedule's time)."""

    year: int | None = None


class CampaignsOpen(BaseModel):
    year: int | None
    at: datetime


class CampaignsOpened(BaseModel):
    year: int
    case_nos: list[str]  # one file per campaign running in the year


class MediationInput(BaseModel):
    case_no: str
    number: int  # the case's n-th run of the ladder
    # Set by complaints started since patch ``mediation-concludes-v1``: the mediation's
    # first snapshot (the step that opened it took it), and the protocol in which the
    # ladder's last step also concludes the complaint (no signals either way).
    first: "StepResult | None" = None
    concludes: bool = False


class MediationResult(BaseModel):
    case_no: str
    number: int
    outcome: str | None  # api.mediation.ladder.Outcome; withdrawn when the case ended first
    # The complaint's own snapshot, taken when the ladder's last step concluded it
    # (``MediationInput.concludes``); None when it did not.
    concluded: "StepResult | None" = None


class MediationEnded(BaseModel):
    """Signal from a mediation's workflow to its complaint: the ladder has an outcome."""

    number: int


class MediationRef(BaseModel):
    """A run of the mediation ladder, as the workflows need it (no names, no text)."""

    number: int
    state: str  # starting | open | ended
    stage: str
    outcome: str | None = None


class TaskRef(BaseModel):
    id: int
    kind: str


class DeadlineRef(BaseModel):
    id: int
    name: str
    due_at: datetime
    state: str  # pending | overdue | paused (only open deadlines are sent)
    # The rungs of the escalation and those already reached; absent in the
    # results recorded before the ladder existed.
    warn_at: datetime | None = None
    notice_at: datetime | None = None
    criticise_at: datetime | None = None
    rungs: list[str] = []


class RecordStepInput(BaseModel):
    case_no: str
    key: str  # unique per case and step: the API applies each key once
    step: StepName
    task_id: int | None = None
    submission_id: str | None = None
    deadline_id: int | None = None
    rung: EscalationRung | None = None
    # The step of mediation ``n``'s workflow (its tasks and deadlines); None: the case's own.
    mediation: int | None = None
    # The case's workflow runs the mediation ladder (patch ``mediation-v1``): acceptance
    # hands the dispute to a MediationWorkflow instead of opening a plain handle task.
    mediation_ladder: bool = False
    # A mediation's step (``MediationInput.concludes``): the step that ends the ladder
    # concludes the complaint in the same transaction (api.cases.steps.conclude_mediation).
    concludes: bool = False


class StepRefusal(BaseModel):
    """A rule the API enforces where the step is applied (e.g. one extension only)."""

    code: str  # a stable error code, e.g. extension.already_granted
    message: str


class StepResult(BaseModel):
    status: str
    unit: str | None
    open_tasks: list[TaskRef]
    deadlines: list[DeadlineRef]
    # For the case's workflow: its latest mediation (``starting`` ones it must start);
    # for a mediation's workflow: that mediation.
    mediation: MediationRef | None = None
    # Set when the step was refused: nothing changed, and the update that asked fails.
    refused: StepRefusal | None = None
    # The case log's last sequence number when the snapshot was taken: of two snapshots of
    # the same case (the complaint's own, and the one its mediation's last step took), the
    # later one has the higher number. 0 in results recorded before it existed.
    seq: int = 0
    # For the case's workflow, when the step opened a mediation (``mediation`` starting):
    # that mediation's first snapshot, for its workflow's input.
    child: "StepResult | None" = None
    # For a mediation's workflow, when its step ended the ladder and concluded the case
    # (``RecordStepInput.concludes``): the case's own snapshot after it.
    concluded: "StepResult | None" = None


class IncidentInput(BaseModel):
    """A step that failed every attempt: the case waits for someone to look (an incident)."""

    case_no: str
    workflow_id: str  # the workflow that waits (the case's, or a mediation's)
    key: str  # the step's key, as in RecordStepInput
    step: StepName
    attempts: int
    error: str  # the last failure, as the activity reported it (no personal data)


class IncidentResult(BaseModel):
    id: int
    case_no: str


class TriageInput(BaseModel):
    task_id: int
    submission_id: str
    decision: Literal["accept", "reject", "refer"]


class HandlingInput(BaseModel):
    task_id: int
    submission_id: str
    outcome: Literal["agreement", "terminated", "return"]


class CallbackInput(BaseModel):
    task_id: int
    submission_id: str
    reached: bool


class SuperviseInput(BaseModel):
    task_id: int
    submission_id: str
    action: Literal["urge", "extend", "reassign"]


class TaskInput(BaseModel):
    """The completion of a task that carries no fact the workflow branches on."""

    task_id: int
    submission_id: str
    kind: str


class WithdrawInput(BaseModel):
    submission_id: str


class ClockInput(BaseModel):
    """Pause or resume a deadline's clock (鉴定检测), or ask for an extension of it."""

    deadline_id: int
    submission_id: str


class ExtensionDecisionInput(BaseModel):
    task_id: int
    submission_id: str
    approve: bool


class CheckpointInput(BaseModel):
    """A checkpoint of the case logs' heads; ``key`` makes it once (a retried activity)."""

    key: str


class ArchiveResult(BaseModel):
    """How many closed cases had their histories archived, of a batch at most."""

    cases: int
    batch: int


class CheckpointResult(BaseModel):
    """The signed root, kept in the checkpoint workflow's history as well: a second store."""

    id: int
    tree_size: int
    root: str
    signature: str


class UpdateResult(BaseModel):
    status: str


class CaseState(BaseModel):
    case_no: str
    status: str
    unit: str | None
    open_tasks: list[TaskRef]
    deadlines: list[DeadlineRef]


# The models that name StepResult before it is defined.
FirstStep.model_rebuild()
MediationInput.model_rebuild()
MediationResult.model_rebuild()
