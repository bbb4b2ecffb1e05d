"""ReportWorkflow: one per report (举报), workflow id ``report-<case_no>``."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.messages import ComplaintResult, ReportInput

from workflows.case import TERMINAL, CaseWorkflow


@workflow.defn
class ReportWorkflow(CaseWorkflow):
    """A report (行政处罚程序规定 art. 18): triage → verification (核查, 15 working days,
    +15 with approval) → filed (立案) or not → a real-name reporter told within 5 working
    days → investigation (90 days, +30 with approval) → decision → closed.

    - updates: those of ``CaseWorkflow``: ``triage``, ``complete_task`` (``verify``,
      ``notify_reporter``, ``investigate``), ``supervise``, ``request_extension``,
      ``decide_extension``, the clock updates and ``withdraw``;
    - signal: ``recompute_deadlines``; query: ``state``.

    The reporter's identity never enters this workflow: it is sealed in the database.
    """

    KIND = "report"

    @workflow.run
    async def run(self, input: ReportInput) -> ComplaintResult:
        self._case_no = input.case_no
        self._escalation = True  # a new workflow type: there are no earlier histories to keep
        await self._open(input.first)
        while self._status not in TERMINAL:
            await self._until(None)

        await self._refuse_the_rest(f"case is already {self._status}")
        return ComplaintResult(case_no=self._case_no, status=self._status)
