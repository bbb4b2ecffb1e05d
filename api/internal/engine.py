"""The step engine: applies a workflow's ``record_step`` activity, once per key.

Each step is one transaction: the concept's step function (``STEPS``) records the
decision, closes and opens the tasks, sets the deadlines and appends the history; the
engine stores the result under the workflow's key, so the same key applied again returns
the first result and changes nothing. A step that raises ``Refused`` (a rule enforced
where it is applied) writes nothing but the refusal, which the workflow turns into a 409
for the person who asked.
"""

from dataclasses import replace
from functools import cached_property

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import metrics
from api.bulletins import steps as bulletin_steps
from api.calendar import service as calendar_service
from api.campaigns import steps as campaign_steps
from api.casefile import history
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case, Event, PendingStart, StepRecord, Submission, SubmissionState
from api.cases import steps as cases
from api.clock import steps as clock
from api.config import Settings
from api.deadlines import service as deadlines
from api.deadlines.models import Deadline
from api.deadlines.reckoning import EscalationPolicy
from api.errors import NotFound, Refused
from api.mediation import steps as mediation_steps
from api.mediation.models import Mediation, MediationRung, MediationState
from api.mediation.service import committees
from api.monitoring import steps as monitoring_steps
from api.reviews import steps as review_steps
from api.rules import service as rules_service
from api.stations import steps as station_steps
from api.steps import kit
from api.steps.kit import DutyTerms, Step, StepContext
from api.supervision import rollup
from api.supervision import steps as supervision
from api.supervision.models import CaseFigures
from api.tasks.models import Task
from workflows.messages import (
    FIRST_STEP_KEY,
    DeadlineRef,
    FirstStep,
    MediationRef,
    RecordStepInput,
    StepRefusal,
    StepResult,
    TaskRef,
)

# Every step a workflow can record, by its recorded name (workflows.messages.StepName).
STEPS: dict[str, Step] = {
    **cases.STEPS,
    **supervision.STEPS,
    **clock.STEPS,
    **mediation_steps.STEPS,
}
# A file that is not a consumer's case takes its own steps, and no other.
STEPS_OF_KIND: dict[str, dict[str, Step]] = {
    CaseKind.BULLETIN: bulletin_steps.STEPS,
    CaseKind.DEMONSTRATION: station_steps.DEMONSTRATION_STEPS,
    CaseKind.RECTIFICATION: station_steps.RECTIFICATION_STEPS,
    CaseKind.CAMPAIGN: campaign_steps.STEPS,
    CaseKind.DELISTING: monitoring_steps.STEPS,
    CaseKind.REVIEW: review_steps.REVIEW_STEPS,
    CaseKind.REVIEW_ORDER: review_steps.ORDER_STEPS,
}


def context(*, session: Session, settings: Settings) -> StepContext:
    """What a step works with, read in the step's transaction: whether the calendar or the
    rule sets changed is one statement, and each is rebuilt only when it did."""
    calendar_columns = calendar_service.fingerprint_columns()
    row = tuple(session.exec(select(*calendar_columns, *rules_service.fingerprint_columns())).one())
    split = len(calendar_columns)
    return StepContext(
        session=session,
        calendar=calendar_service.working_calendar(session=session, fingerprint=row[:split]),
        rules=rules_service.rules_in_force(
            session=session, settings=settings, fingerprint=row[split:]
        ),
        escalation=EscalationPolicy.of(settings),
        committees=committees(settings.committees_file),
        number_pattern=settings.bulletin_number_pattern,
        duties=DutyTerms.of(settings),
    )


def first_step(*, session: Session, settings: Settings, case_no: str) -> FirstStep:
    """A new case's first step (``open_triage``), applied in its registration's transaction
    (which the caller commits): its workflow starts from the result, and its triage task is
    in the inbox as soon as the registration is answered."""
    input = RecordStepInput(
        case_no=case_no, key=FIRST_STEP_KEY, step="open_triage", mediation_ladder=True
    )
    with metrics.step(input.step):
        result = apply(ctx=context(session=session, settings=settings), input=input, commit=False)
    return FirstStep(key=input.key, result=result)


def discard(*, session: Session, case_no: str) -> None:
    """Removes a case whose workflow certainly never started, with all its registration
    wrote: its first step's tasks, deadlines, mediation and record, and what the step added
    to the bulletin's rollup. Nothing is half-written. Its events go while its start is
    still pending: the history's triggers refuse to remove any other case's."""
    case = session.exec(select(Case).where(Case.case_no == case_no)).first()
    if case is None:
        return
    for model in (Event, StepRecord, Task, Deadline, MediationRung, Mediation, PendingStart):
        session.execute(delete(model).where(col(model.case_no) == case_no))
    session.flush()
    rollup.refresh(session, case_no)  # takes out what the first step added
    session.execute(delete(CaseFigures).where(col(CaseFigures.case_no) == case_no))
    session.delete(case)
    session.commit()


def apply(*, ctx: StepContext, input: RecordStepInput, commit: bool = True) -> StepResult:
    """Applies the step once per key, and commits (the caller does, for ``commit`` False)."""
    session = ctx.session
    case = _lock(session, input.case_no)
    done = _recorded(session, input)
    if done is not None:
        return done
    ctx.mediation_ladder = input.mediation_ladder
    own: Mediation | None = None
    if input.mediation is not None:
        own = mediation_steps.of_case(session=session, case=case, number=input.mediation)
        ctx.mediation_id = own.id
    before = history.head(session=session, case_no=case.case_no)
    refused: Refused | None = None
    concluded = False
    try:
        # A mediation the case ended first (a withdrawal) has nothing left to act on.
        if own is None or not mediation_steps.has_ended(own):
            step = STEPS_OF_KIND.get(case.kind, STEPS).get(input.step)
            if step is None:
                raise Refused("case.illegal_move", f"a {case.kind} takes no step {input.step}")
            step(ctx, case, input)
            if own is not None and input.concludes and mediation_steps.has_ended(own):
                # The ladder ended with this step: the complaint takes its outcome in the
                # same transaction, with tasks of its own (no handshake of signals).
                cases.conclude_mediation(replace(ctx, mediation_id=None), case, input)
                concluded = True
            session.flush()  # a constraint the step breaks is its refusal, raised here
    except IntegrityError as error:
        refused = _refusal_of(error)
    except Refused as error:
        refused = error
    if refused is not None:
        session.rollback()
        case = _lock(session, input.case_no)
        done = _recorded(session, input)
        if done is not None:
            return done
        _settle(session, input, SubmissionState.REFUSED)
    # Every deadline of the case, read once: for the bulletin's figures and the answer.
    every_deadline = deadlines.of_case(session=session, case_no=case.case_no)
    if refused is None and case.kind != CaseKind.BULLETIN:
        # The bulletin's figures, in this transaction.
        rollup.refresh(session, case.case_no, rollup.Known(case, every_deadline))
    snapshots = Snapshots(session, case, every_deadline)
    result = snapshots.of(own)
    if refused is not None:
        result.refused = StepRefusal(code=refused.code, message=str(refused.detail))
    elif concluded:
        result.concluded = snapshots.of(None)
    elif own is None and (latest := snapshots.latest) and latest.state == MediationState.STARTING:
        # The case's workflow starts the mediation's with its first snapshot as input: from
        # then on the mediation's workflow takes its steps (the answer recorded above still
        # says "starting", which is what makes the case's workflow start it).
        result.child = snapshots.of(latest)
        mediation_steps.taken_over(latest)
        session.add(latest)
    session.add(
        StepRecord(
            case_no=case.case_no,
            key=input.key,
            result=result.model_dump(mode="json"),
            first_seq=before + 1,
            last_seq=history.head(session=session, case_no=case.case_no),
            submission_id=input.submission_id,
        )
    )
    if not commit:
        session.flush()
        return result
    try:
        session.commit()
    except IntegrityError:
        # The same key applied concurrently (an activity retried while its first attempt
        # was still running): the first one won, and its result is the answer.
        session.rollback()
        done = _recorded(session, input)
        if done is None:
            raise
        return done
    return result


def _lock(session: Session, case_no: str) -> Case:
    """One step of a case at a time: the case's workflow and its mediation's may both take
    one (a withdrawal while the ladder moves), and a retried activity may overlap its
    first attempt. What a step checks holds until it commits."""
    case = history.lock_case(session, case_no)
    if case is None:
        raise NotFound("case.not_found", f"case {case_no} not found")
    return case


# The database constraints a step can run into when two requests raced past the checks;
# SQLite names the columns of a failed unique index, PostgreSQL the index.
_CONSTRAINT_REFUSALS = {
    ("ux_task_open_extension_request", "task.deadline_id"): Refused(
        "extension.pending", "an extension of this deadline is already waiting for approval"
    ),
}


def _refusal_of(error: IntegrityError) -> Refused:
    text_ = str(error.orig)
    for names, refusal in _CONSTRAINT_REFUSALS.items():
        if any(name in text_ for name in names):
            return refusal
    raise error


def _settle(session: Session, input: RecordStepInput, state: SubmissionState) -> None:
    if input.submission_id is None:
        return
    submission = session.get(Submission, input.submission_id)
    if submission is not None and submission.state != state:
        submission.state = state
        session.add(submission)


def snapshot(*, session: Session, case: Case, mediation: Mediation | None = None) -> StepResult:
    """What a workflow needs after a step: the tasks and deadlines it owns (those of
    ``mediation`` for a mediation's workflow), and the mediation it runs or must start."""
    return Snapshots(session, case, deadlines.of_case(session=session, case_no=case.case_no)).of(
        mediation
    )


class Snapshots:
    """The case's open tasks and deadlines (of ``every_deadline``, all the case's in the
    order of their ids) and its latest mediation, read once for the snapshots a step
    answers with (its workflow's, and the mediation's it opened or the case's it
    concluded)."""

    def __init__(self, session: Session, case: Case, every_deadline: list[Deadline]) -> None:
        self.case = case
        self.seq = history.head(session=session, case_no=case.case_no)
        self.tasks = kit.active_tasks(session, case.case_no)
        self.deadlines = [d for d in every_deadline if deadlines.is_open(d)]
        self._session = session

    @cached_property
    def latest(self) -> Mediation | None:
        """The case's latest mediation (read only when a snapshot needs it)."""
        return mediation_steps.latest(session=self._session, case_no=self.case.case_no)

    def of(self, mediation: Mediation | None) -> StepResult:
        """The snapshot of ``mediation``'s workflow; None: of the case's own."""
        owner = mediation.id if mediation else None
        latest = mediation or self.latest
        return StepResult(
            seq=self.seq,
            status=self.case.status,
            unit=self.case.unit,
            open_tasks=[
                TaskRef(id=t.id or 0, kind=t.kind) for t in self.tasks if t.mediation_id == owner
            ],
            mediation=(
                MediationRef(
                    number=latest.number,
                    state=latest.state,
                    stage=latest.stage,
                    outcome=latest.outcome,
                )
                if latest is not None
                else None
            ),
            deadlines=[
                DeadlineRef(
                    id=d.id or 0,
                    name=d.name,
                    due_at=d.due_at,
                    state=d.state,
                    warn_at=d.warn_at,
                    notice_at=d.notice_at,
                    criticise_at=d.criticise_at,
                    rungs=list(d.rungs),
                )
                for d in self.deadlines
                if d.mediation_id == owner
            ],
        )


def _recorded(session: Session, input: RecordStepInput) -> StepResult | None:
    record = session.exec(
        select(StepRecord).where(StepRecord.case_no == input.case_no, StepRecord.key == input.key)
    ).first()
    return StepResult.model_validate(record.result) if record else None
