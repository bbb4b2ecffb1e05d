"""What Temporal recorded of a case: the steps its workflows completed and the decisions
(updates) they accepted, read from each workflow's event history."""

import json
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import PayloadConverter
from temporalio.service import RPCError, RPCStatusCode

from workflows.case import step_of_activity_id
from workflows.messages import FirstStep, MediationResult, RecordStepInput, StepResult

RECORD_STEP = "record_step"
# The marker a local activity leaves (sdk-core's name): its id, type and result, no input.
LOCAL_ACTIVITY_MARKER = "core_local_activity"
MEDIATION = "MediationWorkflow"
# The workflows whose input may carry their case's first step (``FirstStep``).
OPENED_BY_REGISTRATION = ("ComplaintWorkflow", "ReportWorkflow")


@dataclass(frozen=True)
class TemporalStep:
    key: str
    submission_id: str | None
    completed: bool
    # The case log's last sequence number the workflow had been told of when it scheduled
    # the step (by its steps' results and its mediations'; 0 in histories before ``seq``):
    # a step missing from the log would have written its events after it.
    after: int = 0


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
    reading = _Reading(client.data_converter.payload_converter)
    last_type = 0
    for event in history.events:
        record.events += 1
        last_type = event.event_type
        reading.take(event, record)
    record.running = not is_closed(last_type)
    record.steps = [
        replace(step, completed=event_id in reading.completed)
        for event_id, step in sorted(reading.scheduled.items())
    ]
    for update_id in reading.accepted:
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


class _Started(BaseModel):
    """What the audit reads of any workflow's input: a case's first step, if it has one."""

    first: FirstStep | None = None


class _Reading:
    """A history read event by event."""

    def __init__(self, converter: PayloadConverter) -> None:
        self.converter = converter
        self.scheduled: dict[int, TemporalStep] = {}  # by the event that scheduled it
        self.completed: set[int] = set()
        self.accepted: set[str] = set()
        self.seen = 0  # the case log's last sequence number the workflow was told of

    def take(self, event: HistoryEvent, record: WorkflowRecord) -> None:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            # A case's first step, applied with its registration: its result is the input's.
            started = event.workflow_execution_started_event_attributes
            if started.workflow_type.name in OPENED_BY_REGISTRATION and started.input.payloads:
                (input,) = self.converter.from_payloads(started.input.payloads, [_Started])
                assert isinstance(input, _Started)
                if input.first is not None:
                    self.scheduled[event.event_id] = TemporalStep(input.first.key, None, True)
                    self.completed.add(event.event_id)
                    self.seen = input.first.result.seq
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == RECORD_STEP:
                (step,) = self.converter.from_payloads(attributes.input.payloads, [RecordStepInput])
                assert isinstance(step, RecordStepInput)
                self.scheduled[event.event_id] = TemporalStep(
                    step.key, step.submission_id, False, self.seen
                )
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            self._local_step(event)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            self.completed.add(done.scheduled_event_id)
            if done.scheduled_event_id in self.scheduled and done.result.payloads:
                (result,) = self.converter.from_payloads(done.result.payloads, [StepResult])
                assert isinstance(result, StepResult)
                self.seen = max(self.seen, result.seq)
        elif kind == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            ended = event.child_workflow_execution_completed_event_attributes
            if ended.workflow_type.name == MEDIATION and ended.result.payloads:
                (outcome,) = self.converter.from_payloads(ended.result.payloads, [MediationResult])
                assert isinstance(outcome, MediationResult)
                if outcome.concluded is not None:
                    self.seen = max(self.seen, outcome.concluded.seq)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            self.accepted.add(request.meta.update_id)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            done_update = event.workflow_execution_update_completed_event_attributes
            record.updates[done_update.meta.update_id] = done_update.outcome.HasField("success")

    def _local_step(self, event: HistoryEvent) -> None:
        """A step run as a local activity (``LOCAL_STEPS_PATCH``): one marker, recorded when
        it completed, whose activity id holds the step's key and decision. A marker of a
        step that failed every attempt is not a step taken (the incident's retry is)."""
        data = local_step_marker(event)
        marker = event.marker_recorded_event_attributes
        if data is None or marker.HasField("failure") or not marker.details["result"].payloads:
            return
        key, submission_id = step_of_activity_id(data["activity_id"])
        (result,) = self.converter.from_payloads(marker.details["result"].payloads, [StepResult])
        assert isinstance(result, StepResult)
        self.scheduled[event.event_id] = TemporalStep(key, submission_id, False, self.seen)
        self.completed.add(event.event_id)
        self.seen = max(self.seen, result.seq)


def local_step_marker(event: HistoryEvent) -> dict[str, Any] | None:
    """The data of a ``record_step`` local activity's marker (its activity id and type), or
    None for any other event."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER:
        return None
    data: dict[str, Any] = json.loads(marker.details["data"].payloads[0].data)
    return data if data.get("activity_type") == RECORD_STEP else None
