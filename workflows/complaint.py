"""ComplaintWorkflow: one per complaint, workflow id ``complaint-<case_no>``."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        CallbackInput,
        CaseState,
        ComplaintInput,
        ComplaintResult,
        DeadlineRef,
        HandlingInput,
        RecordStepInput,
        StepName,
        StepResult,
        SuperviseInput,
        TaskRef,
        TriageInput,
        UpdateResult,
        WithdrawInput,
    )

TERMINAL = {"rejected", "referred", "closed", "withdrawn"}
# An update that is not the current step is rejected with this type; the API answers 409.
NOT_CURRENT = "NotCurrent"

STEP_TIMEOUT = timedelta(seconds=30)
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


def workflow_id(case_no: str) -> str:
    return f"complaint-{case_no}"


@dataclass
class _Completion:
    step: StepName
    submission_id: str
    task_id: int | None = None


@workflow.defn
class ComplaintWorkflow:
    """The complaint lifecycle: triage → handling → reply → callback → closed.

    Every human step is a task in a staff inbox, completed through an update:

    - updates: ``triage``, ``complete_handling``, ``record_callback``, ``supervise``,
      ``withdraw`` (each with a ``validate_*`` validator that rejects a step that is
      not current);
    - query: ``state``.

    Each transition is one idempotent activity, ``record_step``: the API records the
    step, closes and opens the tasks, and returns the open deadlines. A durable timer
    waits for the earliest pending deadline; when it passes the case is flagged overdue
    and a ``supervise`` task goes to the city supervisor.
    """

    def __init__(self) -> None:
        self._case_no = ""
        self._status = "registered"
        self._unit: str | None = None
        self._open_tasks: dict[int, TaskRef] = {}
        self._deadlines: dict[int, DeadlineRef] = {}
        self._inbox: list[_Completion] = []
        self._done: dict[str, UpdateResult | ApplicationError] = {}
        self._steps = 0
        # True while record_step runs: its new tasks are already in the inbox of the API
        # before the workflow learns their ids.
        self._recording = False

    @workflow.run
    async def run(self, input: ComplaintInput) -> ComplaintResult:
        self._case_no = input.case_no
        await self._record("open_triage")

        triage = await self._until("triage")
        if triage.step == "triage" and self._status == "handling":
            await self._until("handle")
            while self._status not in TERMINAL:
                await self._until("callback")

        # Completions that raced the end of the case are refused, not left hanging.
        for completion in self._inbox:
            self._done[completion.submission_id] = ApplicationError(
                f"case is already {self._status}", type=NOT_CURRENT
            )
        self._inbox.clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ComplaintResult(case_no=self._case_no, status=self._status)

    # --- updates ---------------------------------------------------------------------

    @workflow.update
    async def triage(self, input: TriageInput) -> UpdateResult:
        return await self._complete(_Completion("triage", input.submission_id, input.task_id))

    @triage.validator
    def validate_triage(self, input: TriageInput) -> None:
        self._ensure_current("triage", input.task_id, input.submission_id)

    @workflow.update
    async def complete_handling(self, input: HandlingInput) -> UpdateResult:
        return await self._complete(_Completion("handle", input.submission_id, input.task_id))

    @complete_handling.validator
    def validate_complete_handling(self, input: HandlingInput) -> None:
        self._ensure_current("handle", input.task_id, input.submission_id)

    @workflow.update
    async def record_callback(self, input: CallbackInput) -> UpdateResult:
        return await self._complete(_Completion("callback", input.submission_id, input.task_id))

    @record_callback.validator
    def validate_record_callback(self, input: CallbackInput) -> None:
        self._ensure_current("callback", input.task_id, input.submission_id)

    @workflow.update
    async def supervise(self, input: SuperviseInput) -> UpdateResult:
        return await self._complete(_Completion("supervise", input.submission_id, input.task_id))

    @supervise.validator
    def validate_supervise(self, input: SuperviseInput) -> None:
        self._ensure_current("supervise", input.task_id, input.submission_id)

    @workflow.update
    async def withdraw(self, input: WithdrawInput) -> UpdateResult:
        return await self._complete(_Completion("withdraw", input.submission_id))

    @withdraw.validator
    def validate_withdraw(self, input: WithdrawInput) -> None:
        if self._status in TERMINAL:
            raise ApplicationError(f"case is already {self._status}", type=NOT_CURRENT)
        if any(c.step == "withdraw" for c in self._inbox):
            raise ApplicationError("a withdrawal is already in progress", type=NOT_CURRENT)

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

    async def _until(self, kind: StepName) -> _Completion:
        """Applies completions as they come until one of ``kind`` (or a withdrawal) lands.

        Meanwhile the earliest pending deadline runs as a durable timer; supervision of
        an overdue step is applied here too, and may move the deadline.
        """
        while True:
            if not self._inbox:
                deadline = self._next_pending_deadline()
                if deadline is None:
                    await workflow.wait_condition(lambda: bool(self._inbox))
                else:
                    # A past-due deadline (a complaint entered late) must not schedule a
                    # negative timer: it is overdue at once.
                    delay = deadline.due_at - workflow.now()
                    if delay > timedelta(0):
                        try:
                            await workflow.wait_condition(lambda: bool(self._inbox), timeout=delay)
                        except TimeoutError:
                            pass
                    if not self._inbox:
                        await self._record("deadline_passed", deadline_id=deadline.id)
                        continue
            completion = self._inbox.pop(0)
            task = self._open_tasks.get(completion.task_id or 0)
            if completion.task_id is not None and (task is None or task.kind != completion.step):
                self._done[completion.submission_id] = ApplicationError(
                    f"task {completion.task_id} is not an open {completion.step} task of this case",
                    type=NOT_CURRENT,
                )
                continue
            if completion.step == "withdraw" and self._status in TERMINAL:
                self._done[completion.submission_id] = ApplicationError(
                    f"case is already {self._status}", type=NOT_CURRENT
                )
                continue
            await self._record(
                completion.step,
                task_id=completion.task_id,
                submission_id=completion.submission_id,
            )
            self._done[completion.submission_id] = UpdateResult(status=self._status)
            if completion.step in (kind, "withdraw") or self._status in TERMINAL:
                return completion

    async def _record(
        self,
        step: StepName,
        *,
        task_id: int | None = None,
        submission_id: str | None = None,
        deadline_id: int | None = None,
    ) -> StepResult:
        self._steps += 1
        self._recording = True
        result: StepResult = await workflow.execute_activity(
            "record_step",
            RecordStepInput(
                case_no=self._case_no,
                key=f"{self._steps}:{step}",
                step=step,
                task_id=task_id,
                submission_id=submission_id,
                deadline_id=deadline_id,
            ),
            result_type=StepResult,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        self._recording = False
        self._status = result.status
        self._unit = result.unit
        self._open_tasks = {t.id: t for t in result.open_tasks}
        self._deadlines = {d.id: d for d in result.deadlines}
        return result

    async def _complete(self, completion: _Completion) -> UpdateResult:
        self._inbox.append(completion)
        await workflow.wait_condition(lambda: completion.submission_id in self._done)
        outcome = self._done.pop(completion.submission_id)
        if isinstance(outcome, ApplicationError):
            raise outcome
        return outcome

    def _ensure_current(self, kind: str, task_id: int, submission_id: str) -> None:
        task = self._open_tasks.get(task_id)
        # A task unknown while a step is being recorded may be one that step just opened:
        # it is queued, and checked again once the step's result is in (``_until``).
        unknown_but_maybe_new = task is None and self._recording
        if (task is None or task.kind != kind) and not unknown_but_maybe_new:
            raise ApplicationError(
                f"task {task_id} is not an open {kind} task of this case", type=NOT_CURRENT
            )
        if any(c.task_id == task_id for c in self._inbox):
            raise ApplicationError(f"task {task_id} is already being completed", type=NOT_CURRENT)

    def _next_pending_deadline(self) -> DeadlineRef | None:
        pending = [d for d in self._deadlines.values() if d.state == "pending"]
        return min(pending, key=lambda d: d.due_at, default=None)
