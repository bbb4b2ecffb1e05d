"""ComplaintWorkflow: one per complaint, workflow id ``complaint-<case_no>``."""

from typing import Any

from temporalio import workflow
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        CallbackInput,
        ComplaintInput,
        ComplaintResult,
        HandlingInput,
        MediationEnded,
        MediationInput,
        MediationResult,
        RecordStepInput,
        StepResult,
        UpdateResult,
        mediation_id,
    )
    from workflows.parts import Completion

from workflows.case import (
    ESCALATION_PATCH,
    NOT_CURRENT,
    TERMINAL,
    CaseWorkflow,
    workflow_id,
)

__all__ = ["NOT_CURRENT", "ComplaintWorkflow", "workflow_id"]

# Cases started before the mediation ladder keep their plain handle task; new cases hand
# each dispute to a MediationWorkflow.
MEDIATION_PATCH = "mediation-v1"
# The mediation's workflow (workflows.mediation) and the signal that tells it that the
# complaint took its outcome (before CONCLUDES_PATCH).
MEDIATION = "MediationWorkflow"
CONCLUDED = "concluded"
# Mediations started since take their first snapshot in their input, and the ladder's last
# step concludes the complaint: no ``open_mediation`` and ``conclude_mediation`` steps, no
# ``mediation_ended`` and ``concluded`` signals. Those started before keep the handshake.
CONCLUDES_PATCH = "mediation-concludes-v1"


@workflow.defn
class ComplaintWorkflow(CaseWorkflow):
    """The complaint lifecycle: triage → handling → reply → callback → closed.

    Handling is the mediation ladder (patch ``mediation-v1``): acceptance hands the
    dispute to a ``MediationWorkflow`` child, and the ladder's outcome completes the
    handle step (since ``mediation-concludes-v1``, in the ladder's last step itself). A
    complaint registered at a station first goes to that station's reconciliation (和解),
    also a ``MediationWorkflow``, and to triage if it fails.

    Every human step is a task in a staff inbox, completed through an update:

    - updates: ``complete_handling``, ``record_callback``, and those of ``CaseWorkflow``
      (``triage``, ``supervise``, ``withdraw``, the clock and extension updates), each
      with a ``validate_*`` validator that rejects what is not current;
    - signal: ``recompute_deadlines`` (the working-day calendar changed);
    - query: ``state``.

    Each transition is one idempotent activity, ``record_step``: the API records the
    step, closes and opens the tasks, and returns the open deadlines with the rungs of
    their escalation (督办). A durable timer waits for the next rung of any open
    deadline: T−2 working days a warning (预警), T overdue (超期, a ``supervise`` task),
    T+1 a chase notice (催办通知书), five working days later a criticism (通报批评) with
    an accountability record (责任追究). Meeting the deadline stops its escalation.
    """

    KIND = "complaint"

    def __init__(self) -> None:
        super().__init__()
        self._mediation_ladder = False
        self._child: ChildWorkflowHandle[Any, MediationResult] | None = None
        self._started: set[int] = set()
        self._child_number = 0
        self._ended: set[int] = set()
        # The running mediation's last step concludes this complaint (CONCLUDES_PATCH).
        self._child_concludes = False

    @workflow.run
    async def run(self, input: ComplaintInput) -> ComplaintResult:
        self._case_no = input.case_no
        self._escalation = workflow.patched(ESCALATION_PATCH)
        self._mediation_ladder = workflow.patched(MEDIATION_PATCH)
        await self._open(input.first)

        while self._status not in TERMINAL:
            if self._child is not None:
                await self._follow_mediation()
            elif self._status == "triage":
                await self._until("triage")
            elif self._status == "handling":
                await self._until("handle")
            else:  # replied, callback
                await self._until("callback")

        await self._refuse_the_rest(f"case is already {self._status}")
        return ComplaintResult(case_no=self._case_no, status=self._status)

    # --- the mediation ladder -------------------------------------------------------------

    def _step_input(self, input: RecordStepInput) -> RecordStepInput:
        if not self._mediation_ladder:
            return input
        return input.model_copy(update={"mediation_ladder": True})

    async def _after_step(self, result: StepResult) -> None:
        """A step that handed the dispute to mediation (acceptance, a station's
        registration, a redo) opened its first rung: its workflow starts before the
        clerk who took the step is answered, so the rung's tasks can be acted on at once."""
        ref = result.mediation
        if not self._mediation_ladder or ref is None or ref.state != "starting":
            return
        if ref.number in self._started:
            return
        self._started.add(ref.number)
        self._child_number = ref.number
        self._child_concludes = result.child is not None and workflow.patched(CONCLUDES_PATCH)
        input = MediationInput(
            case_no=self._case_no,
            number=ref.number,
            first=result.child if self._child_concludes else None,
            concludes=self._child_concludes,
        )
        # REQUEST_CANCEL: if this complaint ends without ending the mediation (an operator
        # terminates it), the mediation is asked to end and records why. TERMINATE would
        # record nothing and leave its tasks open; ABANDON would leave its timers chasing
        # a case that no longer runs.
        # By its name: this module does not import the mediation's, which the sandbox would
        # otherwise run anew (and define its workflow again) for every complaint it creates.
        self._child = await workflow.start_child_workflow(
            MEDIATION,
            input,
            result_type=MediationResult,
            id=mediation_id(self._case_no, ref.number),
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )

    @workflow.signal
    def mediation_ended(self, input: MediationEnded) -> None:
        """The mediation's workflow reports that its ladder has an outcome."""
        self._ended.add(input.number)

    def _finished(self) -> bool:
        if self._child is None:
            return False
        return self._child.done() or self._child_number in self._ended

    def _opening_elsewhere(self) -> bool:
        # The mediation's last step opens this complaint's next tasks (the callback) before
        # its workflow ends and hands them over.
        return self._child is not None and self._child_concludes

    async def _follow_mediation(self) -> None:
        """Waits for the ladder's outcome, applying this case's own updates meanwhile
        (a withdrawal). Then either the ladder's last step has concluded this complaint
        already and its workflow's result carries the complaint's snapshot, or (mediations
        started before CONCLUDES_PATCH) the handle step completes from that outcome here,
        and the mediation is told so (it answers the clerk who ended it only then)."""
        child = self._child
        assert child is not None
        while not self._finished() and self._status not in TERMINAL:
            await self._until(None)
        if self._status in TERMINAL:
            if not child.done():
                child.cancel()  # withdrawn: the withdrawal already ended the ladder
        elif not self._child_concludes:
            await self._record("conclude_mediation")
            if not child.done():
                await child.signal(CONCLUDED)
        result = await child
        self._child = None
        # The later of the two snapshots holds: a withdrawal may have followed the ladder's end.
        if result.concluded is not None and result.concluded.seq > self._seq:
            await self._take(result.concluded)

    @workflow.update
    async def complete_handling(self, input: HandlingInput) -> UpdateResult:
        return await self._complete(Completion("handle", input.submission_id, input.task_id))

    @complete_handling.validator
    def validate_complete_handling(self, input: HandlingInput) -> None:
        self._ensure_current("handle", input.task_id)

    @workflow.update
    async def record_callback(self, input: CallbackInput) -> UpdateResult:
        return await self._complete(Completion("callback", input.submission_id, input.task_id))

    @record_callback.validator
    def validate_record_callback(self, input: CallbackInput) -> None:
        self._ensure_current("callback", input.task_id)
