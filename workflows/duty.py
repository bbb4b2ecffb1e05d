"""The plan's duties (示范点名单, 整改, 专项整治): a ``DutyWorkflow`` per file runs its
unit's task under its deadline, with the escalation every case has, until the file is
closed; a campaign's file runs the same way, its deadlines only the days it looks at the
progress. ``YearlyDemonstrations`` and ``YearlyCampaigns``, each started in January by a
Temporal Schedule (``demonstration-sites``, ``special-campaigns``) or by hand, open the
year's files once and start their ``DutyWorkflow``s."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        CampaignsOpen,
        CampaignsOpened,
        CampaignsRequest,
        ComplaintResult,
        DemonstrationOpen,
        DemonstrationOpened,
        DemonstrationRequest,
        DutyInput,
    )

from workflows.case import TERMINAL, CaseWorkflow, workflow_id

SCHEDULE_ID = "demonstration-sites"
CAMPAIGNS_SCHEDULE_ID = "special-campaigns"

# Set by Temporal on a run a schedule started: the time it was due, which says the year.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def schedule_id(prefix: str = "", base: str = SCHEDULE_ID) -> str:
    """A schedule's id (``demonstration-sites``, ``special-campaigns``), after the
    deployment's case number prefix if it has one (deployments sharing a Temporal
    namespace, as the tests do)."""
    return f"{base}-{prefix}" if prefix else base


@workflow.defn
class DutyWorkflow(CaseWorkflow):
    """One duty: ``open_duty`` gives the unit its task and deadline; completions
    (``complete_task``) move it on, and a review may send it back, until it is closed.
    A late deadline is warned, supervised, chased and criticised like a case's.

    - updates: ``complete_task`` (``name_sites``, ``review_sites``, ``rectify``), and those
      of ``CaseWorkflow``;
    - query: ``state``.
    """

    KIND = "duty"

    @workflow.run
    async def run(self, input: DutyInput) -> ComplaintResult:
        self._case_no = input.case_no
        self.KIND = input.kind  # its search attribute CaseKind: demonstration, rectification
        self._escalation = input.escalation
        await self._record("open_duty")
        while self._status not in TERMINAL:
            await self._until(None)
        await self._refuse_the_rest(f"the file is {self._status}")
        return ComplaintResult(case_no=self._case_no, status=self._status)

    def _finished(self) -> bool:
        # A file a timer closes (a campaign's last day) has no completion to return on.
        return self._status in TERMINAL


async def _start_files(case_nos: list[str], input: DutyInput) -> None:
    """Starts each file's ``DutyWorkflow`` (``input`` says the kind) unless it runs or ran
    already; it outlives the run that started it."""
    for case_no in case_nos:
        try:
            await workflow.start_child_workflow(
                DutyWorkflow.run,
                input.model_copy(update={"case_no": case_no}),
                id=workflow_id(case_no, input.kind),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # under way, or done


# The year's files are opened by one call to the API, retried until it answers.
OPEN_TIMEOUT = timedelta(minutes=5)
OPEN_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


@workflow.defn
class YearlyDemonstrations:
    """Opens every branch's demonstration-site list of the year (``open_demonstrations``:
    once per branch and year, whichever run asks first) and starts the workflow of each
    that does not run or ran already: a schedule caught up, run twice, or started by hand
    for the same year makes one list per branch."""

    @workflow.run
    async def run(self, input: DemonstrationRequest | None = None) -> DemonstrationOpened:
        at = workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        opened: DemonstrationOpened = await workflow.execute_activity(
            "open_demonstrations",
            DemonstrationOpen(year=input.year if input else None, at=at),
            result_type=DemonstrationOpened,
            start_to_close_timeout=OPEN_TIMEOUT,
            retry_policy=OPEN_RETRY,
        )
        await _start_files(opened.case_nos, DutyInput(case_no="", kind="demonstration"))
        return opened


@workflow.defn
class YearlyCampaigns:
    """Opens the file of every campaign running in the year (``open_campaigns``: once per
    campaign) and starts the workflow of each that does not run or ran already."""

    @workflow.run
    async def run(self, input: CampaignsRequest | None = None) -> CampaignsOpened:
        at = workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        opened: CampaignsOpened = await workflow.execute_activity(
            "open_campaigns",
            CampaignsOpen(year=input.year if input else None, at=at),
            result_type=CampaignsOpened,
            start_to_close_timeout=OPEN_TIMEOUT,
            retry_policy=OPEN_RETRY,
        )
        # A campaign's deadlines are the days it looks at the progress: no escalation.
        await _start_files(
            opened.case_nos, DutyInput(case_no="", kind="campaign", escalation=False)
        )
        return opened
