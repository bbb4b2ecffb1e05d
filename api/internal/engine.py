"""The step engine: applies a workflow's ``record_step`` activity, once per key.

Each step is one transaction: the concept's step function (``STEPS``) records the
decision, closes and opens the tasks, sets the deadlines and appends the history; the
engine stores the result under the workflow's key, so the same key applied again returns
the first result and changes nothing. A step that raises ``Refused`` (a rule enforced
where it is applied) writes nothing but the refusal, which the workflow turns into a 409
for the person who asked.
"""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.bulletins import steps as bulletin_steps
from api.campaigns import steps as campaign_steps
from api.casefile import history
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case, StepRecord, Submission, SubmissionState
from api.cases import steps as cases
from api.clock import steps as clock
from api.deadlines import service as deadlines
from api.errors import NotFound, Refused
from api.mediation import steps as mediation_steps
from api.mediation.models import Mediation
from api.monitoring import steps as monitoring_steps
from api.reviews import steps as review_steps
from api.stations import steps as station_steps
from api.steps.kit import Step, StepContext
from api.supervision import rollup
from api.supervision import steps as supervision
from api.tasks import service as tasks
from workflows.messages import (
    DeadlineRef,
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


def apply(*, ctx: StepContext, input: RecordStepInput) -> StepResult:
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
    try:
        # A mediation the case ended first (a withdrawal) has nothing left to act on.
        if own is None or not mediation_steps.has_ended(own):
            step = STEPS_OF_KIND.get(case.kind, STEPS).get(input.step)
            if step is None:
                raise Refused("case.illegal_move", f"a {case.kind} takes no step {input.step}")
            step(ctx, case, input)
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
    if refused is None and case.kind != CaseKind.BULLETIN:
        rollup.refresh(session, case.case_no)  # the bulletin's figures, in this transaction
    result = snapshot(session=session, case=case, mediation=own)
    if refused is not None:
        result.refused = StepRefusal(code=refused.code, message=str(refused.detail))
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
    owner = mediation.id if mediation else None
    open_tasks = [
        t for t in tasks.active(session=session, case_no=case.case_no) if t.mediation_id == owner
    ]
    latest = mediation or mediation_steps.latest(session=session, case_no=case.case_no)
    return StepResult(
        status=case.status,
        unit=case.unit,
        open_tasks=[TaskRef(id=t.id or 0, kind=t.kind) for t in open_tasks],
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
            for d in deadlines.open_of_case(session=session, case_no=case.case_no)
            if d.mediation_id == owner
        ],
    )


def _recorded(session: Session, input: RecordStepInput) -> StepResult | None:
    record = session.exec(
        select(StepRecord).where(StepRecord.case_no == input.case_no, StepRecord.key == input.key)
    ).first()
    return StepResult.model_validate(record.result) if record else None
