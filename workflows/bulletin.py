"""The monthly bulletin (通报): ``MonthlyBulletin``, started on the 1st of each month by a
Temporal Schedule (``monthly-bulletin``) or by hand for a past month, opens the month's
bulletin once and starts its ``BulletinWorkflow`` (id ``bulletin-<file no>``), which
drafts it, waits for the city supervisor to publish it, and ends."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        BulletinInput,
        BulletinOpen,
        BulletinOpened,
        BulletinRequest,
        ComplaintResult,
    )

from workflows.case import TERMINAL, CaseWorkflow, workflow_id

SCHEDULE_ID = "monthly-bulletin"


def schedule_id(prefix: str = "") -> str:
    """The schedule's id: ``monthly-bulletin``, after the deployment's case number prefix
    if it has one (deployments sharing a Temporal namespace, as the tests do)."""
    return f"{SCHEDULE_ID}-{prefix}" if prefix else SCHEDULE_ID


# Set by Temporal on a run a schedule started: the time it was due (a caught-up run's is
# the time it was missed), which says the month.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class BulletinWorkflow(CaseWorkflow):
    """One version of a month's bulletin: ``draft_bulletin`` (its figures frozen, the
    ``review_bulletin`` task to the city supervisor), then the task's completion publishes
    it (``complete_task``); published, it ends.

    - updates: ``complete_task`` (``review_bulletin``), those of ``CaseWorkflow``;
    - query: ``state``.
    """

    KIND = "bulletin"

    @workflow.run
    async def run(self, input: BulletinInput) -> ComplaintResult:
        self._case_no = input.case_no
        self._escalation = True
        await self._record("draft_bulletin")
        while self._status not in TERMINAL:
            await self._until(None)
        await self._refuse_the_rest(f"the bulletin is {self._status}")
        return ComplaintResult(case_no=self._case_no, status=self._status)


@workflow.defn
class MonthlyBulletin:
    """Opens the month's bulletin (``open_bulletin``: once per month, whichever run asks
    first) and starts its workflow unless it runs or ran already: a schedule caught up, run
    twice, or a start by hand for the same month makes one bulletin."""

    @workflow.run
    async def run(self, input: BulletinRequest | None = None) -> BulletinOpened:
        at = workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        opened: BulletinOpened = await workflow.execute_activity(
            "open_bulletin",
            BulletinOpen(month=input.month if input else None, at=at),
            result_type=BulletinOpened,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
        try:
            await workflow.start_child_workflow(
                BulletinWorkflow.run,
                BulletinInput(case_no=opened.case_no),
                id=workflow_id(opened.case_no, BulletinWorkflow.KIND),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # the month's bulletin is under way, or done
        return opened
