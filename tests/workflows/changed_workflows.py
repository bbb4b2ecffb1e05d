"""Two ways of changing ``ComplaintWorkflow`` while cases are running, for
``test_replay_command.py`` (a module of their own: the workflow sandbox imports it)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.messages import ComplaintInput, ComplaintResult

from workflows.complaint import ComplaintWorkflow


@workflow.defn(name="ComplaintWorkflow")
class WaitsFirst(ComplaintWorkflow):
    """The change made carelessly: a timer before the first step, for every case."""

    @workflow.run
    async def run(self, input: ComplaintInput) -> ComplaintResult:
        await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)


@workflow.defn(name="ComplaintWorkflow")
class WaitsFirstIfNew(ComplaintWorkflow):
    """The same change made safely: only cases started after it take the new path."""

    @workflow.run
    async def run(self, input: ComplaintInput) -> ComplaintResult:
        if workflow.patched("wait-first-example"):
            await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)
