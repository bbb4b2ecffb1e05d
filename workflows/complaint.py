"""ComplaintWorkflow: one per complaint, workflow id ``complaint-<case_no>``."""

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        CallbackInput,
        ComplaintInput,
        ComplaintResult,
        HandlingInput,
        UpdateResult,
    )

from workflows.case import (
    LADDER_PATCH,
    NOT_CURRENT,
    TERMINAL,
    CaseWorkflow,
    _Completion,
    workflow_id,
)

__all__ = ["NOT_CURRENT", "ComplaintWorkflow", "workflow_id"]


@workflow.defn
class ComplaintWorkflow(CaseWorkflow):
    """The complaint lifecycle: triage → handling → reply → callback → closed.

    Every human step is a task in a staff inbox, completed through an update:

    - updates: ``complete_handling``, ``record_callback``, and those of ``CaseWorkflow``
      (``triage``, ``supervise``, ``withdraw``, the clock and extension updates), each
      with a ``validate_*`` validator that rejects what is not current;
    - signal: ``recompute_deadlines`` (the working-day calendar changed);
    - query: ``state``.

    Each transition is one idempotent activity, ``record_step``: the API records the
    step, closes and opens the tasks, and returns the open deadlines with the rungs of
    their supervision ladder. A durable timer waits for the next rung of any open
    deadline: T−2 working days a warning (预警), T overdue (超期, a ``supervise`` task),
    T+1 a chase notice (催办通知书), five working days later a criticism (通报批评) with
    an accountability record (责任追究). Meeting the deadline stops its ladder.
    """

    KIND = "complaint"

    @workflow.run
    async def run(self, input: ComplaintInput) -> ComplaintResult:
        self._case_no = input.case_no
        self._ladder = workflow.patched(LADDER_PATCH)
        await self._record("open_triage")

        while self._status not in TERMINAL:
            if self._status == "triage":
                await self._until("triage")
            elif self._status == "handling":
                await self._until("handle")
            else:  # replied, callback
                await self._until("callback")

        # Completions that raced the end of the case are refused, not left hanging.
        for completion in self._inbox:
            self._done[completion.submission_id] = ApplicationError(
                f"case is already {self._status}", type=NOT_CURRENT
            )
        self._inbox.clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ComplaintResult(case_no=self._case_no, status=self._status)

    @workflow.update
    async def complete_handling(self, input: HandlingInput) -> UpdateResult:
        return await self._complete(_Completion("handle", input.submission_id, input.task_id))

    @complete_handling.validator
    def validate_complete_handling(self, input: HandlingInput) -> None:
        self._ensure_current("handle", input.task_id)

    @workflow.update
    async def record_callback(self, input: CallbackInput) -> UpdateResult:
        return await self._complete(_Completion("callback", input.submission_id, input.task_id))

    @record_callback.validator
    def validate_record_callback(self, input: CallbackInput) -> None:
        self._ensure_current("callback", input.task_id)
