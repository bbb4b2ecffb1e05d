"""The machinery every case workflow shares (complaints, reports)."""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    FailureError,
)

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        CaseState,
        ClockInput,
        DeadlineRef,
        EscalationRung,
        ExtensionDecisionInput,
        FirstStep,
        IncidentInput,
        IncidentResult,
        RecordStepInput,
        StepName,
        StepResult,
        SuperviseInput,
        TaskInput,
        TaskRef,
        TriageInput,
        UpdateResult,
        WithdrawInput,
    )
    from workflows.parts import Completion, Wake

TERMINAL = {"rejected", "referred", "closed", "withdrawn", "published"}
# An update that is not the current step is rejected with this type; the API answers 409.
NOT_CURRENT = "NotCurrent"

# A step the API refused (409, a rule it enforces where the step is applied): the update
# that asked for it fails with this type, and its first detail is the error code.
REFUSED = "Refused"

STEP_TIMEOUT = timedelta(seconds=30)
# A step is tried for about four minutes (the API restarting, a database busy); then the
# case has an incident that supervisors see, instead of retrying out of sight for ever.
STEP_ATTEMPTS = 10
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=STEP_ATTEMPTS,
)
# Recording the incident itself is retried until the API takes it.
INCIDENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# An incident nobody acted on is tried again after this long, and again after that.
INCIDENT_AUTO_RETRY = timedelta(hours=1)

# Cases started before the escalation and the search attributes keep replaying
# the way they were recorded: their deadlines run a single timer each.
ESCALATION_PATCH = "supervision-ladder-v1"  # the id Temporal recorded
# A step runs as a local activity, in the workflow task that asked for it, since this
# patch: no activity task to schedule, poll and complete, and no second workflow task to
# answer the update. Workflows that ran a step before it keep scheduling activities.
LOCAL_STEPS_PATCH = "local-steps-v1"


def step_activity_id(key: str, submission_id: str | None) -> str:
    """A local step's activity id: its key, and the decision it applies. Temporal records
    a local activity's id and result, not its input, and the audit reads the key and the
    decision of each step from the history (``api.audit.temporal``)."""
    return key if submission_id is None else f"{key} {submission_id}"


def step_of_activity_id(activity_id: str) -> tuple[str, str | None]:
    """The key and the decision of a local step, from its activity id."""
    key, _, submission_id = activity_id.partition(" ")
    return key, submission_id or None


# The case's search attributes (检索属性), defined once (api/search_attributes.py lists them
# for registration). Never personal data: Temporal stores them unencrypted.
CASE_NO = SearchAttributeKey.for_keyword("CaseNo")  # 案件编号
CASE_KIND = SearchAttributeKey.for_keyword("CaseKind")  # 投诉 / 举报 / 调解
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")  # 案件状态
HANDLING_UNIT = SearchAttributeKey.for_keyword("HandlingUnit")  # 承办单位
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")  # 下一个办理时限
OVERDUE = SearchAttributeKey.for_bool("Overdue")  # 超期
SUPERVISED = SearchAttributeKey.for_bool("Supervised")  # 督办
SEARCH_ATTRIBUTE_KEYS = (
    CASE_NO,
    CASE_KIND,
    CASE_STATUS,
    HANDLING_UNIT,
    NEXT_DEADLINE,
    OVERDUE,
    SUPERVISED,
)

# The task kind each step completes.
TASK_OF_STEP = {
    "triage": "triage",
    "handle": "handle",
    "callback": "callback",
    "supervise": "supervise",
    "decide_extension": "approve_extension",
}


def workflow_id(case_no: str, kind: str = "complaint") -> str:
    """``complaint-<case_no>`` or ``report-<case_no>``."""
    return f"{kind}-{case_no}"


class CaseWorkflow:
    """What every case workflow shares: a staff inbox driven by updates, one idempotent
    ``record_step`` activity per transition, and the timers of the escalation (督办).

    - updates: ``triage``, ``supervise``, ``complete_task``, ``withdraw``, ``pause_clock``,
      ``resume_clock``, ``request_extension``, ``decide_extension`` (each with a
      ``validate_*`` validator that rejects what is not current);
    - signal: ``recompute_deadlines`` (the working-day calendar changed);
    - query: ``state``.

    A durable timer waits for the next rung of any open deadline: T−2 working days a
    warning (预警), T overdue (超期, a ``supervise`` task), T+1 a chase notice (催办通知书),
    five working days later a criticism (通报批评) with an accountability record
    (责任追究). Meeting the deadline stops its escalation.
    """

    KIND = "case"

    def __init__(self) -> None:
        self._case_no = ""
        self._status = "registered"
        self._unit: str | None = None
        self._open_tasks: dict[int, TaskRef] = {}
        self._deadlines: dict[int, DeadlineRef] = {}
        self._inbox: list[Completion] = []
        self._done: dict[str, UpdateResult | ApplicationError] = {}
        self._steps = 0
        self._local_steps: bool | None = None  # LOCAL_STEPS_PATCH, decided at the first step
        # True while record_step runs: its new tasks are already in the inbox of the API
        # before the workflow learns their ids. So too before the first step is in: the
        # case's registration (or, for a mediation, its complaint's step) opened its first
        # task, which a clerk may complete before this workflow has read its input.
        self._recording = True
        self._recompute_requested = False
        self._escalation = False
        self._retry_step = False
        self._seq = 0  # the case log's sequence number of the snapshot taken last

    # --- updates ---------------------------------------------------------------------

    @workflow.update
    async def triage(self, input: TriageInput) -> UpdateResult:
        return await self._complete(Completion("triage", input.submission_id, input.task_id))

    @triage.validator
    def validate_triage(self, input: TriageInput) -> None:
        self._ensure_current("triage", input.task_id)

    @workflow.update
    async def complete_task(self, input: TaskInput) -> UpdateResult:
        return await self._complete(
            Completion("complete_task", input.submission_id, input.task_id, kind=input.kind)
        )

    @complete_task.validator
    def validate_complete_task(self, input: TaskInput) -> None:
        self._ensure_current(input.kind, input.task_id)

    @workflow.update
    async def supervise(self, input: SuperviseInput) -> UpdateResult:
        return await self._complete(Completion("supervise", input.submission_id, input.task_id))

    @supervise.validator
    def validate_supervise(self, input: SuperviseInput) -> None:
        self._ensure_current("supervise", input.task_id)

    @workflow.update
    async def decide_extension(self, input: ExtensionDecisionInput) -> UpdateResult:
        return await self._complete(
            Completion("decide_extension", input.submission_id, input.task_id)
        )

    @decide_extension.validator
    def validate_decide_extension(self, input: ExtensionDecisionInput) -> None:
        self._ensure_current("approve_extension", input.task_id)

    @workflow.update
    async def pause_clock(self, input: ClockInput) -> UpdateResult:
        return await self._complete(
            Completion("pause", input.submission_id, deadline_id=input.deadline_id)
        )

    @pause_clock.validator
    def validate_pause_clock(self, input: ClockInput) -> None:
        self._ensure_deadline(input.deadline_id, ("pending",), "running")

    @workflow.update
    async def resume_clock(self, input: ClockInput) -> UpdateResult:
        return await self._complete(
            Completion("resume", input.submission_id, deadline_id=input.deadline_id)
        )

    @resume_clock.validator
    def validate_resume_clock(self, input: ClockInput) -> None:
        self._ensure_deadline(input.deadline_id, ("paused",), "paused")

    @workflow.update
    async def request_extension(self, input: ClockInput) -> UpdateResult:
        return await self._complete(
            Completion("request_extension", input.submission_id, deadline_id=input.deadline_id)
        )

    @request_extension.validator
    def validate_request_extension(self, input: ClockInput) -> None:
        self._ensure_deadline(input.deadline_id, ("pending", "overdue"), "open")

    @workflow.update
    async def withdraw(self, input: WithdrawInput) -> UpdateResult:
        return await self._complete(Completion("withdraw", input.submission_id))

    @withdraw.validator
    def validate_withdraw(self, input: WithdrawInput) -> None:
        if self._status in TERMINAL:
            raise ApplicationError(f"case is already {self._status}", type=NOT_CURRENT)
        if any(c.step == "withdraw" for c in self._inbox):
            raise ApplicationError("a withdrawal is already in progress", type=NOT_CURRENT)

    @workflow.signal
    def recompute_deadlines(self) -> None:
        """The working-day calendar changed: recompute the open deadlines."""
        self._recompute_requested = True

    @workflow.signal
    def retry_step(self) -> None:
        """Someone fixed what made a step fail (an incident): try it again now."""
        self._retry_step = True

    @workflow.query
    def state(self) -> CaseState:
        return CaseState(
            case_no=self._case_no,
            status=self._status,
            unit=self._unit,
            open_tasks=list(self._open_tasks.values()),
            deadlines=list(self._deadlines.values()),
        )

    # --- the steps ---------------------------------------------------------------------

    async def _until(self, kind: StepName | None) -> Completion | None:
        """Applies completions as they come until one of ``kind`` (any, for None) lands,
        or (None) until ``_finished()`` holds with nothing left to apply.

        Meanwhile the next rung of every open deadline runs as a durable timer;
        supervision, clock pauses and extensions are applied here too, and may move it.
        """
        while True:
            if self._recompute_requested:
                self._recompute_requested = False
                await self._record("recompute")
                continue
            if not self._ready():
                if self._finished():
                    return None
                wake = self._next_wake()
                if wake is None:
                    await workflow.wait_condition(self._has_work)
                    continue
                # A past-due rung (a complaint entered late) must not schedule a negative
                # timer: it is reached at once.
                delay = wake.at - workflow.now()
                if delay > timedelta(0):
                    try:
                        await workflow.wait_condition(self._has_work, timeout=delay)
                    except TimeoutError:
                        pass
                if self._has_work():
                    continue
                if wake.rung is None:
                    await self._record("deadline_passed", deadline_id=wake.deadline.id)
                else:
                    await self._record("ladder", deadline_id=wake.deadline.id, rung=wake.rung)
                continue
            completion = self._ready()[0]
            self._inbox.remove(completion)
            refusal = self._refusal(completion)
            if refusal is not None:
                self._done[completion.submission_id] = ApplicationError(refusal, type=NOT_CURRENT)
                continue
            recorded = await self._record(
                completion.step,
                task_id=completion.task_id,
                submission_id=completion.submission_id,
                deadline_id=completion.deadline_id,
            )
            if recorded.refused is not None:
                self._done[completion.submission_id] = ApplicationError(
                    recorded.refused.message, recorded.refused.code, type=REFUSED
                )
                continue
            self._done[completion.submission_id] = UpdateResult(status=self._status)
            if kind is None or completion.step in (kind, "withdraw") or self._status in TERMINAL:
                return completion
            if kind == "handle" and self._status != "handling":
                return completion  # the handle step ended otherwise (e.g. returned)
            if kind == "callback" and self._status == "handling":
                return completion  # sent back for redo after an unsatisfied callback

    async def _refuse_the_rest(self, reason: str) -> None:
        """The run ends: completions that raced its end are refused, not left hanging, and
        every handler finishes before the workflow returns."""
        for completion in self._inbox:
            self._done[completion.submission_id] = ApplicationError(reason, type=NOT_CURRENT)
        self._inbox.clear()
        await workflow.wait_condition(workflow.all_handlers_finished)

    def _has_work(self) -> bool:
        return bool(self._ready()) or self._recompute_requested or self._finished()

    def _ready(self) -> list[Completion]:
        """The queued completions that can be applied now, in order: not those of a task
        this workflow does not know yet while a step elsewhere may have opened it."""
        if not self._opening_elsewhere():
            return self._inbox
        return [c for c in self._inbox if c.task_id is None or c.task_id in self._open_tasks]

    def _opening_elsewhere(self) -> bool:
        """Whether a step this workflow does not record may be opening its tasks (a
        subclass says: a mediation whose last step concludes the complaint)."""
        return False

    def _finished(self) -> bool:
        """Whether ``_until`` should stop waiting: never, unless a subclass says so."""
        return False

    def _refusal(self, completion: Completion) -> str | None:
        """Why a queued completion cannot be applied now, if it cannot."""
        if completion.task_id is not None:
            task = self._open_tasks.get(completion.task_id)
            wanted_kind = completion.kind or TASK_OF_STEP.get(completion.step)
            if task is None or task.kind != wanted_kind:
                return f"task {completion.task_id} is not an open {completion.step} task"
        if completion.step == "withdraw" and self._status in TERMINAL:
            return f"case is already {self._status}"
        wanted = {"pause": ("pending",), "resume": ("paused",)}.get(
            completion.step, ("pending", "overdue")
        )
        if completion.deadline_id is not None:
            deadline = self._deadlines.get(completion.deadline_id)
            if deadline is None or deadline.state not in wanted:
                return f"deadline {completion.deadline_id} cannot be changed now"
        return None

    async def _record(
        self,
        step: StepName,
        *,
        task_id: int | None = None,
        submission_id: str | None = None,
        deadline_id: int | None = None,
        rung: EscalationRung | None = None,
    ) -> StepResult:
        self._steps += 1
        self._recording = True
        input = self._step_input(
            RecordStepInput(
                case_no=self._case_no,
                key=f"{self._steps}:{step}",
                step=step,
                task_id=task_id,
                submission_id=submission_id,
                deadline_id=deadline_id,
                rung=rung,
            )
        )
        if self._local_steps is None:
            self._local_steps = workflow.patched(LOCAL_STEPS_PATCH)
        incident: IncidentResult | None = None
        while True:
            try:
                result: StepResult = await self._step(input)
                break
            except FailureError as error:
                # An activity's failure comes wrapped in an ActivityError; a local step's
                # as it was raised (an ApplicationError, its timeout a TimeoutError).
                cause = error.cause if isinstance(error, ActivityError) else error
                if isinstance(cause, CancelledError):
                    raise
                incident = await self._incident(input, cause)
        if incident is not None:
            await workflow.execute_activity(
                "resolve_incident",
                incident,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=INCIDENT_RETRY,
                summary=f"resolve_incident {step}",
            )
        await self._take(result)
        return result

    async def _step(self, input: RecordStepInput) -> StepResult:
        """``record_step``, retried as ``STEP_RETRY`` says. The Temporal UI's timeline names
        each step by its summary, not "record_step" six times (user metadata: recorded
        histories replay unchanged)."""
        if self._local_steps:
            # Applied before Temporal stores the update that asked for it: a decision whose
            # answer is lost may be lost with it, and the API sends it again (its repair).
            result: StepResult = await workflow.execute_local_activity(
                "record_step",
                input,
                result_type=StepResult,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
                activity_id=step_activity_id(input.key, input.submission_id),
                summary=input.step,
            )
            return result
        result = await workflow.execute_activity(
            "record_step",
            input,
            result_type=StepResult,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
            summary=input.step,
        )
        return result

    async def _open(self, first: FirstStep | None) -> None:
        """The case's first step (``open_triage``): applied with its registration, whose
        result the input carries, or recorded here (cases registered before that, and
        those a route registers without it)."""
        if first is None:
            await self._record("open_triage")
            return
        self._steps = int(first.key.split(":", 1)[0])  # the next step's key follows it
        await self._take(first.result)

    async def _take(self, result: StepResult) -> None:
        """Takes a snapshot of the case as the API answered a step with it (or as it came
        along another way: a mediation's input, the complaint's from its mediation)."""
        self._recording = False
        self._seq = max(self._seq, result.seq)
        self._status = result.status
        self._unit = result.unit
        self._open_tasks = {t.id: t for t in result.open_tasks}
        self._deadlines = {d.id: d for d in result.deadlines}
        if self._escalation:
            self._publish()
        await self._after_step(result)

    async def _incident(
        self, input: RecordStepInput, cause: BaseException | None
    ) -> IncidentResult:
        """Every attempt at the step failed: the case stops here, on record as an incident
        supervisors see, until someone asks for the step again (the ``retry_step`` signal)
        or an hour has passed. The step keeps its key, so it is applied once."""
        incident: IncidentResult = await workflow.execute_activity(
            "open_incident",
            IncidentInput(
                case_no=self._case_no,
                workflow_id=workflow.info().workflow_id,
                key=input.key,
                step=input.step,
                attempts=STEP_ATTEMPTS,
                error=str(cause.message if isinstance(cause, ApplicationError) else cause)[:1000],
            ),
            result_type=IncidentResult,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=INCIDENT_RETRY,
            summary=f"open_incident {input.step}",
        )
        self._retry_step = False
        try:
            await workflow.wait_condition(lambda: self._retry_step, timeout=INCIDENT_AUTO_RETRY)
        except TimeoutError:
            pass
        return incident

    def _step_input(self, input: RecordStepInput) -> RecordStepInput:
        """What a subclass adds to each step it records (the mediation it runs)."""
        return input

    async def _after_step(self, result: StepResult) -> None:
        """Runs after each recorded step, before an update waiting on it is answered."""

    def _publish(self) -> None:
        """The case's search attributes: case number and non-personal facts only."""
        pending = [d.due_at for d in self._deadlines.values() if d.state == "pending"]
        updates: list[SearchAttributeUpdate[Any]] = [
            CASE_NO.value_set(self._case_no),
            CASE_KIND.value_set(self.KIND),
            CASE_STATUS.value_set(self._status),
            HANDLING_UNIT.value_set(self._unit or ""),
            OVERDUE.value_set(any(d.state == "overdue" for d in self._deadlines.values())),
            SUPERVISED.value_set(any(t.kind == "supervise" for t in self._open_tasks.values())),
            NEXT_DEADLINE.value_set(min(pending)) if pending else NEXT_DEADLINE.value_unset(),
        ]
        workflow.upsert_search_attributes(updates)

    async def _complete(self, completion: Completion) -> UpdateResult:
        self._inbox.append(completion)
        await workflow.wait_condition(lambda: completion.submission_id in self._done)
        outcome = self._done.pop(completion.submission_id)
        if isinstance(outcome, ApplicationError):
            raise outcome
        return outcome

    def _ensure_current(self, kind: str, task_id: int) -> None:
        task = self._open_tasks.get(task_id)
        # A task unknown while a step is being recorded (here, or elsewhere: a mediation's
        # last step) may be one that step just opened: it is queued, and checked again once
        # the step's result is in (``_until``).
        unknown_but_maybe_new = task is None and (self._recording or self._opening_elsewhere())
        if (task is None or task.kind != kind) and not unknown_but_maybe_new:
            raise ApplicationError(
                f"task {task_id} is not an open {kind} task of this case", type=NOT_CURRENT
            )
        if any(c.task_id == task_id for c in self._inbox):
            raise ApplicationError(f"task {task_id} is already being completed", type=NOT_CURRENT)

    def _ensure_deadline(self, deadline_id: int, states: tuple[str, ...], wanted: str) -> None:
        deadline = self._deadlines.get(deadline_id)
        if deadline is None or deadline.state not in states:
            raise ApplicationError(
                f"deadline {deadline_id} is not {wanted} on this case", type=NOT_CURRENT
            )
        if any(c.deadline_id == deadline_id for c in self._inbox):
            raise ApplicationError(
                f"deadline {deadline_id} is already being changed", type=NOT_CURRENT
            )

    def _next_wake(self) -> Wake | None:
        """The next rung of any open deadline (only the deadline itself before the ladder)."""
        now = workflow.now()
        wakes: list[Wake] = []
        for d in self._deadlines.values():
            if d.state == "pending":
                if self._escalation and d.warn_at and "warning" not in d.rungs and now < d.due_at:
                    wakes.append(Wake(d.warn_at, d, "warning"))
                else:
                    wakes.append(Wake(d.due_at, d, None))
            elif d.state == "overdue" and self._escalation:
                if d.notice_at and "notice" not in d.rungs:
                    wakes.append(Wake(d.notice_at, d, "notice"))
                elif d.criticise_at and "criticism" not in d.rungs:
                    wakes.append(Wake(d.criticise_at, d, "criticism"))
        return min(wakes, key=lambda w: w.at, default=None)
