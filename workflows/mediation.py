"""MediationWorkflow: one run of the mediation ladder, id ``mediation-<case_no>-<number>``."""

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        MediationEnded,
        MediationInput,
        MediationRef,
        MediationResult,
        RecordStepInput,
        StepResult,
        UpdateResult,
        mediation_id,
    )
    from workflows.parts import Completion

from workflows.case import CaseWorkflow

__all__ = ["MEDIATION_ENDED", "MediationWorkflow", "mediation_id"]

# The signal a complaint takes its mediation's end by (ComplaintWorkflow.mediation_ended).
MEDIATION_ENDED = "mediation_ended"


@workflow.defn
class MediationWorkflow(CaseWorkflow):
    """One dispute's way up the ladder (三位一体 + 诉调衔接), a child of its complaint:
    和解 at a station (rung 0), or 行政调解 by the branch (rung 1) → 人民调解 by a committee
    (rung 2) → 司法确认 or litigation (rung 3), and back down when a court entrusts the
    dispute to mediation (委托调解).

    The same machinery as the case workflows: each rung's tasks are completed through
    ``complete_task`` (``handle``, ``notify_termination``, ``committee_result``,
    ``judicial_application``, ``court_ruling``, ``court_outcome``, ``reconcile``), and the
    rung's deadlines run as durable timers. A deadline that ends its step by law
    (administrative mediation after 45 working days, the 30-day window for judicial
    confirmation, a station's time to settle) is applied when it passes; the others are
    chased by the escalation (督办).

    - updates: ``complete_task``, ``supervise``, ``request_extension``,
      ``decide_extension``, ``pause_clock``, ``resume_clock``;
    - signals: ``recompute_deadlines``, ``concluded`` (the complaint took the outcome);
      query: ``state``.

    The complaint hands the dispute over with its first rung already open, and (since
    patch ``mediation-concludes-v1`` of the complaint) that rung's snapshot in the input.
    The step that ends the ladder concludes the complaint too (it has moved on: replied,
    closed, back to triage), and this workflow returns the complaint's snapshot after it.
    A mediation started before that patch records ``open_mediation`` first, and when the
    ladder ends it signals the complaint (``mediation_ended``) and waits for ``concluded``
    before it answers the clerk whose step ended it. If the complaint ends first
    (withdrawn), it cancels this workflow, which records its end and returns.
    """

    KIND = "mediation"

    def __init__(self) -> None:
        super().__init__()
        self._number = 0
        self._mediation: MediationRef | None = None
        self._concluded = False
        self._cancelled = False
        # The ladder's last step concludes the complaint (MediationInput.concludes), whose
        # snapshot after it this workflow's result carries.
        self._concludes = False
        self._complaint: StepResult | None = None

    @workflow.run
    async def run(self, input: MediationInput) -> MediationResult:
        self._case_no = input.case_no
        self._number = input.number
        self._escalation = True  # a new workflow type: there are no earlier histories to keep
        self._concludes = input.concludes
        try:
            if input.first is not None:
                await self._take(input.first)
            else:
                await self._record("open_mediation")
            while not self._finished():
                await self._until(None)
            await self._hand_back()
        except asyncio.CancelledError:
            # The complaint ended (withdrawn) or was stopped: the ladder ends with it, on
            # record, rather than leaving its tasks and timers behind.
            await self._record("end_mediation")
            self._cancelled = True
        await self._refuse_the_rest("the mediation has ended")
        outcome = self._mediation.outcome if self._mediation else None
        return MediationResult(
            case_no=self._case_no, number=self._number, outcome=outcome, concluded=self._complaint
        )

    @workflow.signal
    def concluded(self) -> None:
        """The complaint has taken the ladder's outcome."""
        self._concluded = True

    async def _hand_back(self) -> None:
        if self._concludes:
            return  # the last step concluded the complaint; the result carries its snapshot
        parent = workflow.info().parent
        if parent is None:
            self._concluded = True  # started on its own: nobody takes the outcome over
            return
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(
            MEDIATION_ENDED, MediationEnded(number=self._number)
        )
        await workflow.wait_condition(lambda: self._concluded)

    async def _complete(self, completion: Completion) -> UpdateResult:
        result = await super()._complete(completion)
        if self._finished() and not self._concludes:
            # This step ended the ladder: answer once the complaint has moved on.
            await workflow.wait_condition(lambda: self._concluded or self._cancelled)
        return result

    def _finished(self) -> bool:
        return self._mediation is not None and self._mediation.state == "ended"

    def _step_input(self, input: RecordStepInput) -> RecordStepInput:
        return input.model_copy(
            update={
                "mediation": self._number,
                "key": f"m{self._number}.{input.key}",
                "concludes": self._concludes,
            }
        )

    async def _after_step(self, result: StepResult) -> None:
        self._mediation = result.mediation
        if result.concluded is not None:
            self._complaint = result.concluded
