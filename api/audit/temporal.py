"""What Temporal recorded of a case: the steps its workflows completed and the decisions
(updates) they accepted, read from each workflow's event history."""

from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import PayloadConverter
from temporalio.service import RPCError, RPCStatusCode

from workflows.messages import RecordStepInput

RECORD_STEP = "record_step"


@dataclass(frozen=True)
class TemporalStep:
    key: str
    submission_id: str | None
    completed: bool


@dataclass
class WorkflowRecord:
    """One workflow's history, as the audit needs it."""

    workflow_id: str
    found: bool = False
    # Read from the application's archive: Temporal no longer holds it (its retention).
    archived: bool = False
    running: bool = False
    events: int = 0
    steps: list[TemporalStep] = field(default_factory=list)  # in the order scheduled
    # Decisions (update ids = submission ids) accepted, and whether each succeeded.
    updates: dict[str, bool] = field(default_factory=dict)


async def read(client: Client, workflow_id: str, archived: str | None = None) -> WorkflowRecord:
    """The workflow's steps and decisions; from ``archived`` (its exported JSON) when
    Temporal no longer has it; ``found`` False when neither has it (never started, or
    deleted after its retention before it was archived)."""
    record = WorkflowRecord(workflow_id)
    handle = client.get_workflow_handle(workflow_id)
    try:
        history = await handle.fetch_history()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        if archived is None:
            return record
        history = WorkflowHistory.from_json(workflow_id, archived)
        record.archived = True
    record.found = True
    converter = client.data_converter.payload_converter
    scheduled: dict[int, RecordStepInput] = {}
    completed: set[int] = set()
    accepted: set[str] = set()
    last_type = 0
    for event in history.events:
        record.events += 1
        last_type = event.event_type
        _take(event, converter, scheduled, completed, accepted, record)
    record.running = not is_closed(last_type)
    record.steps = [
        TemporalStep(step.key, step.submission_id, event_id in completed)
        for event_id, step in sorted(scheduled.items())
    ]
    for update_id in accepted:
        record.updates.setdefault(update_id, False)
    return record


_CLOSING = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def is_closed(event_type: int) -> bool:
    """The event closes the workflow's run."""
    return event_type in _CLOSING


def _take(
    event: HistoryEvent,
    converter: PayloadConverter,
    scheduled: dict[int, RecordStepInput],
    completed: set[int],
    accepted: set[str],
    record: WorkflowRecord,
) -> None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        attributes = event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == RECORD_STEP:
            (step,) = converter.from_payloads(attributes.input.payloads, [RecordStepInput])
            assert isinstance(step, RecordStepInput)
            scheduled[event.event_id] = step
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        completed.add(event.activity_task_completed_event_attributes.scheduled_event_id)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        accepted.add(request.meta.update_id)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        done = event.workflow_execution_update_completed_event_attributes
        record.updates[done.meta.update_id] = done.outcome.HasField("success")
