"""Verifying a case's record: its hash chain, and the chain against what Temporal recorded.

Two independent records of every case check each other. The API's log (the hash-chained
events, and the step records that say which events each workflow step appended) and the
case's Temporal histories (the complaint's or report's workflow and each mediation's) must
tell the same story: every step the API recorded is a step a workflow completed, every
decision a workflow accepted is applied in the log with an event by the person who made
it, and neither has one the other lacks. The comparison is a pure function of the two.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from api.audit.temporal import WorkflowRecord
from api.casefile.history import broken_link
from api.casefile.models import Event, StepRecord, Submission, SubmissionState


@dataclass
class Verdict:
    ok: bool
    events: int
    temporal_events: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None
    # The workflows compared, and those whose history Temporal no longer has.
    workflows: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)


def verify(
    *,
    events: Sequence[Event],
    steps: Sequence[StepRecord],
    submissions: Sequence[Submission],
    workflows: Sequence[WorkflowRecord],
    owner_of_key: dict[str, str],
) -> Verdict:
    """``owner_of_key``: for each step key prefix (``""`` for the case's own workflow,
    ``"m<n>."`` for mediation n), the workflow id that runs it."""
    verdict = Verdict(ok=True, events=len(events))
    broken = broken_link(events)
    if broken is not None:
        return _fail(verdict, broken.seq, broken.reason)
    verdict.temporal_events = sum(w.events for w in workflows)
    verdict.workflows = [w.workflow_id for w in workflows if w.found]
    verdict.unavailable = [w.workflow_id for w in workflows if not w.found]
    verdict.archived = [w.workflow_id for w in workflows if w.archived]
    by_key = {s.key: s for s in steps}
    by_submission = {s.id: s for s in submissions}
    for workflow in workflows:
        if not workflow.found:
            continue  # nothing to hold the log against (retention); see ``unavailable``
        own = [s for s in steps if _owner(s.key, owner_of_key) == workflow.workflow_id]
        problem = _compare(workflow, own, by_key, by_submission, events)
        if problem is not None:
            return _fail(verdict, *problem)
    return verdict


def _owner(key: str, owner_of_key: dict[str, str]) -> str | None:
    prefix = key.split(".", 1)[0] + "." if key.startswith("m") and "." in key else ""
    return owner_of_key.get(prefix)


def _compare(
    workflow: WorkflowRecord,
    own: list[StepRecord],
    by_key: dict[str, StepRecord],
    by_submission: dict[str, Submission],
    events: Sequence[Event],
) -> tuple[int, str] | None:
    wid = workflow.workflow_id
    ran = {s.key for s in workflow.steps}
    next_seq = 1  # where the next step's events would start
    for step in workflow.steps:
        recorded = by_key.get(step.key)
        if recorded is None:
            if step.completed:
                return max(next_seq, step.after + 1), (
                    f"{wid} completed step {step.key}; the log has no record of it"
                )
            continue  # in flight: its activity has not come back yet
        if recorded.last_seq is not None:
            next_seq = max(next_seq, recorded.last_seq + 1)
        if step.submission_id is not None:
            problem = _decision(wid, step.submission_id, recorded, by_submission, events)
            if problem is not None:
                return problem
    for recorded in own:
        if recorded.key not in ran:
            return recorded.first_seq or next_seq, (
                f"the log records step {recorded.key}, which {wid} never ran"
            )
    applied = {s.submission_id for s in own if s.submission_id}
    for submission in by_submission.values():
        if submission.workflow_id != wid or submission.state != SubmissionState.APPLIED:
            continue
        if submission.id not in workflow.updates:
            by = next((s for s in own if s.submission_id == submission.id), None)
            seq = by.first_seq if by and by.first_seq else next_seq
            return seq, f"the log applied decision {submission.id}, which {wid} never accepted"
        if submission.id not in applied:
            return next_seq, f"decision {submission.id} is applied, but by no step of {wid}"
    for update_id, succeeded in workflow.updates.items():
        ran_for = any(s.submission_id == update_id for s in workflow.steps)
        if succeeded and not ran_for:
            return next_seq, f"{wid} accepted decision {update_id}, but ran no step for it"
    return None


def _decision(
    wid: str,
    submission_id: str,
    recorded: StepRecord,
    by_submission: dict[str, Submission],
    events: Sequence[Event],
) -> tuple[int, str] | None:
    """The decision a step applied has its event, by the person who made it, among the
    events the step appended."""
    submission = by_submission.get(submission_id)
    seq = recorded.first_seq or 1
    if submission is None:
        return seq, f"step {recorded.key} of {wid} applied decision {submission_id}, which is gone"
    if submission.state != SubmissionState.APPLIED or recorded.first_seq is None:
        return None  # refused, or a step that found nothing left to do; or recorded before
    last = recorded.last_seq or 0
    if not any(recorded.first_seq <= e.seq <= last and e.actor == submission.actor for e in events):
        return seq, (
            f"the decision of {submission.actor} applied by step {recorded.key} has no event "
            "in the log"
        )
    return None


def _fail(verdict: Verdict, seq: int, reason: str) -> Verdict:
    verdict.ok = False
    verdict.first_bad_seq = seq
    verdict.reason = reason
    return verdict
