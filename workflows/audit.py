"""AuditCheckpointWorkflow: a signed checkpoint of every case log's head, run daily by a
Temporal Schedule (``audit-checkpoint``), id ``audit-checkpoint-<time>``."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import ArchiveResult, CheckpointInput, CheckpointResult

SCHEDULE_ID = "audit-checkpoint"


@workflow.defn
class AuditCheckpointWorkflow:
    """Asks the API to take the checkpoint (``take_checkpoint``), once per workflow: its
    Merkle root and signature come back into this workflow's history, so the root is
    recorded in Temporal's database as well as the application's. First (patch
    ``archive-v1``), the histories of the cases closed since are archived
    (``archive_histories``, batch after batch), so the checkpoint signs their hashes too."""

    @workflow.run
    async def run(self, input: CheckpointInput | None = None) -> CheckpointResult:
        key = input.key if input is not None else workflow.info().workflow_id
        if workflow.patched("archive-v1"):
            while True:
                archived: ArchiveResult = await workflow.execute_activity(
                    "archive_histories",
                    result_type=ArchiveResult,
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
                )
                if archived.cases < archived.batch:
                    break
        result: CheckpointResult = await workflow.execute_activity(
            "take_checkpoint",
            CheckpointInput(key=key),
            result_type=CheckpointResult,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
        return result
