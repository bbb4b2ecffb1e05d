"""The steps of the mediation ladder, applied for ``record_step`` like every case step.

``begin`` is called from a step of the case's own workflow (acceptance, a station's
registration, a redo): it opens the case's next ``Mediation`` with its first rung's tasks
and deadlines, owned by that mediation, so its ``MediationWorkflow`` can be started with
them in place. Every later step is the mediation workflow's own (``complete``, ``expire``,
``stopped``), until the case's workflow takes the ladder's outcome
(``api.cases.steps.conclude_mediation``).
"""

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.db import utcnow
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.errors import Conflict, Refused
from api.mediation import facts as recorded
from api.mediation import ladder
from api.mediation.ladder import Move, Outcome, Rung, Stage
from api.mediation.models import (
    Mediation,
    MediationConsent,
    MediationRung,
    MediationState,
)
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext, Taken
from api.tasks import forms
from api.tasks.kinds import KINDS
from api.tasks.models import TaskKind
from api.workdays import deadline_instant
from workflows.messages import RecordStepInput

# The task each stage asks for; who acts on it and the deadline that bounds it are the
# kind's (``api.tasks.kinds``).
WORK: dict[Stage, TaskKind] = {
    Stage.RECONCILING: TaskKind.RECONCILE,
    Stage.MEDIATING: TaskKind.HANDLE,
    Stage.NOTIFYING: TaskKind.NOTIFY_TERMINATION,
    Stage.COMMITTEE: TaskKind.COMMITTEE_RESULT,
    Stage.WINDOW: TaskKind.JUDICIAL_APPLICATION,
    Stage.CONFIRMING: TaskKind.COURT_RULING,
    Stage.LITIGATING: TaskKind.COURT_OUTCOME,
}


def _limit(stage: Stage) -> str:
    limit = KINDS[WORK[stage]].limit
    assert limit is not None, f"the work of {stage} has no deadline"
    return limit


# The unit's own work is chased (督办); a time that ends its step by law expires; a
# court's time is only watched.
POLICY: dict[Stage, DeadlinePolicy] = {
    Stage.RECONCILING: DeadlinePolicy.EXPIRE,
    Stage.MEDIATING: DeadlinePolicy.EXPIRE,
    Stage.NOTIFYING: DeadlinePolicy.SUPERVISE,
    Stage.COMMITTEE: DeadlinePolicy.SUPERVISE,
    Stage.WINDOW: DeadlinePolicy.EXPIRE,
    Stage.CONFIRMING: DeadlinePolicy.WATCH,
    Stage.LITIGATING: DeadlinePolicy.WATCH,
}

LADDER_KINDS = frozenset(WORK.values())


# --- reading -----------------------------------------------------------------------------


def of_case(*, session: Session, case: Case, number: int) -> Mediation:
    found = session.exec(
        select(Mediation).where(Mediation.case_no == case.case_no, Mediation.number == number)
    ).first()
    if found is None:
        raise Conflict("mediation.not_found", f"case {case.case_no} has no mediation {number}")
    return found


def latest(*, session: Session, case_no: str) -> Mediation | None:
    """The case's latest run of the ladder, if it has one."""
    return session.exec(
        select(Mediation).where(Mediation.case_no == case_no).order_by(col(Mediation.number).desc())
    ).first()


def has_ended(mediation: Mediation) -> bool:
    return mediation.state == MediationState.ENDED


def current_rung(*, session: Session, mediation: Mediation) -> MediationRung | None:
    return session.exec(
        select(MediationRung)
        .where(MediationRung.mediation_id == mediation.id)
        .order_by(col(MediationRung.id).desc())
    ).first()


def consents(*, session: Session, mediation: Mediation, purpose: str) -> list[MediationConsent]:
    """The consents (and refusals) recorded for ``purpose`` in this mediation, in order."""
    return list(
        session.exec(
            select(MediationConsent)
            .where(
                MediationConsent.mediation_id == mediation.id,
                MediationConsent.purpose == purpose,
            )
            .order_by(col(MediationConsent.given_on), col(MediationConsent.id))
        ).all()
    )


def consent_gap(
    *, session: Session, mediation: Mediation, purpose: str
) -> ladder.ConsentGap | None:
    """The party whose consent to ``purpose`` is lacking, or None when both gave it."""
    return ladder.consent_gap(
        ladder.Consent(purpose),
        [
            ladder.ConsentRecord(ladder.Party(c.party), c.given, c.given_on.isoformat())
            for c in consents(session=session, mediation=mediation, purpose=purpose)
        ],
    )


def legal_move(*, session: Session, mediation: Mediation, body: BaseModel) -> Move:
    """The move ``body`` makes at the mediation's stage, if the law allows it now: the
    ladder's move table, and the consent of both parties the move needs (人民调解法
    arts. 17, 33). Raises ``Refused`` otherwise. The step decides by it, and the inbox
    asks it before sending a completion."""
    try:
        move = ladder.move(Stage(mediation.stage), forms.decision(body))
    except ladder.IllegalMove as error:
        raise Refused("mediation.illegal_move", str(error)) from error
    if move.consent is not None:
        gap = consent_gap(session=session, mediation=mediation, purpose=move.consent)
        if gap is not None:
            raise Refused(
                "consent.refused" if gap.refused else "consent.missing",
                f"{gap.reason}: the consent of both parties is needed first",
            )
    return move


# --- the steps ---------------------------------------------------------------------------


def begin(
    ctx: StepContext, case: Case, *, rung: Rung, unit: str, at: datetime, via: str
) -> Mediation:
    """Opens the case's next run of the ladder at ``rung`` with its first tasks; the case's
    workflow then starts its MediationWorkflow (the mediation is ``starting``)."""
    session = ctx.session
    last = session.exec(
        select(Mediation.number)
        .where(Mediation.case_no == case.case_no)
        .order_by(col(Mediation.number).desc())
    ).first()
    stage = ladder.entry_stage(rung)
    mediation = Mediation(
        case_no=case.case_no,
        number=(last or 0) + 1,
        start_rung=rung,
        stage=stage,
        unit=unit,
        started_at=at,
    )
    session.add(mediation)
    session.flush()
    kit.event(
        ctx,
        case,
        SYSTEM,
        "mediation_started",
        number=mediation.number,
        rung=rung,
        unit=unit,
        via=via,
    )
    _enter(ctx, case, mediation, stage, at, via, {})
    return mediation


def opened(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The mediation's workflow has taken it over: the first step of one started without
    its first snapshot (before patch ``mediation-concludes-v1``)."""
    mediation = own(ctx)
    taken_over(mediation)
    ctx.session.add(mediation)


def taken_over(mediation: Mediation) -> None:
    """The mediation's workflow takes its steps from now on (or is about to: its first
    snapshot is on its way into its input)."""
    if mediation.state == MediationState.STARTING:
        mediation.state = MediationState.OPEN


def complete(ctx: StepContext, case: Case, taken: Taken) -> None:
    """A rung's task is done: the ladder moves as the body decides."""
    mediation = own(ctx)
    task, body, at, actor = taken.task, taken.body, taken.at, taken.actor
    stage = Stage(mediation.stage)
    if task.kind != WORK[stage]:
        raise Conflict("task.not_current", f"a {task.kind} task is not the work of {stage.value}")
    move = legal_move(session=ctx.session, mediation=mediation, body=body)
    kit.meet(ctx, case, task.deadline_id, at)
    facts, onward = recorded.facts(ctx, case, body)
    event, data = recorded.event(body, facts)
    kit.event(ctx, case, actor, event, number=mediation.number, **data)
    if move.consent is not None:
        # The consents the move rests on, as the evidence it was made with: on the record
        # of the rung it enters (or continues, for a joint application to the court).
        evidence = [
            c.id for c in consents(session=ctx.session, mediation=mediation, purpose=move.consent)
        ]
        (onward if move.to in ladder.OPENS_RUNG else facts)["consents"] = evidence
    _apply_move(ctx, case, mediation, move, at, actor, facts, onward)


def expire(ctx: StepContext, case: Case, deadline: Deadline) -> None:
    """A time that ends its step by law has passed (调解期满终止, 司法确认申请期限届满,
    和解期满): the step ends as the law says, and the ladder moves on."""
    mediation = own(ctx)
    stage = Stage(mediation.stage)
    if stage not in ladder.EXPIRES or _limit(stage) != deadline.name:
        return  # the stage moved on while the timer ran
    # The step ended at the close of the deadline's last day.
    ended = deadline_instant(deadline.due_date) - timedelta(seconds=1)
    deadline.met_at = deadline.due_at
    deadline.state = DeadlineState.MET
    ctx.session.add(deadline)
    kit.cancel_tasks(
        ctx,
        case,
        [t for t in kit.active_tasks(ctx.session, case.case_no) if t.deadline_id == deadline.id],
    )
    facts: dict[str, Any] = {"expired": True}
    data: dict[str, Any] = {
        "number": mediation.number,
        "deadline_id": deadline.id,
        "name": deadline.name,
        "state": deadline.state,
    }
    if stage == Stage.MEDIATING:
        code = ctx.rules.by_code(case.rule_set).limit("handle").expiry_ground
        ground = ctx.rules.by_code(case.rule_set).ground("terminate", code) if code else None
        facts.update(ground=code, article=ground.article if ground else None)
        data.update(ground=code)
    kit.event(ctx, case, SYSTEM, "deadline_expired", **data)
    if stage == Stage.MEDIATING:
        kit.event(
            ctx,
            case,
            SYSTEM,
            "mediation_terminated",
            number=mediation.number,
            ground=facts["ground"],
            expired=True,
        )
    _apply_move(ctx, case, mediation, ladder.move(stage, "expired"), ended, SYSTEM, facts, {})
    kit.refresh_overdue(ctx, case)


def stopped(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The mediation's workflow was cancelled before the ladder ended (the complaint ended
    without ending it): it ends here, on record."""
    mediation = own(ctx)
    if has_ended(mediation):
        return
    outcome = Outcome.WITHDRAWN if case.status == Status.WITHDRAWN else Outcome.STOPPED
    _end(ctx, case, mediation, outcome, utcnow(), SYSTEM)


def end_open(ctx: StepContext, case: Case, actor: str, at: datetime) -> None:
    """The complaint was withdrawn: its running ladder ends with it, at whatever rung."""
    for mediation in ctx.session.exec(
        select(Mediation).where(
            Mediation.case_no == case.case_no, Mediation.state != MediationState.ENDED
        )
    ).all():
        _end(ctx, case, mediation, Outcome.WITHDRAWN, at, actor)


def reassign(ctx: StepContext, unit: str) -> None:
    """The supervisor reassigned the handling (改派): the mediation goes with it."""
    mediation = own(ctx)
    mediation.unit = unit
    ctx.session.add(mediation)


# --- the ladder's moves ------------------------------------------------------------------


def own(ctx: StepContext) -> Mediation:
    """The mediation whose workflow takes this step."""
    mediation = ctx.session.get(Mediation, ctx.mediation_id) if ctx.mediation_id else None
    if mediation is None:
        raise Conflict("mediation.not_found", "this step is a mediation's, and names none")
    return mediation


def _apply_move(
    ctx: StepContext,
    case: Case,
    mediation: Mediation,
    move: Move,
    at: datetime,
    actor: str,
    facts: dict[str, Any],
    onward: dict[str, Any],
) -> None:
    """Applies ``move``: the rung being left gets its outcome and facts; the ladder ends or
    enters the next stage."""
    record = current_rung(session=ctx.session, mediation=mediation)
    if record is not None:
        record.details = {**record.details, **facts}
        if move.rung_outcome is not None:
            record.outcome = move.rung_outcome
        ctx.session.add(record)
    if move.to == Stage.ENDED:
        assert move.outcome is not None
        _end(ctx, case, mediation, move.outcome, at, actor)
        return
    via = _VIA.get((Stage(mediation.stage), move.to), move.rung_outcome or "")
    _enter(ctx, case, mediation, move.to, at, via, onward)


# How a stage is entered, when it is entered from another (for the rung record).
_VIA: dict[tuple[Stage, Stage], str] = {
    (Stage.NOTIFYING, Stage.COMMITTEE): "consent",
    (Stage.NOTIFYING, Stage.LITIGATING): "guidance",
    (Stage.COMMITTEE, Stage.LITIGATING): "guidance",
    (Stage.CONFIRMING, Stage.COMMITTEE): "consent",
    (Stage.CONFIRMING, Stage.LITIGATING): "guidance",
    (Stage.COMMITTEE, Stage.WINDOW): "agreement",
    (Stage.LITIGATING, Stage.MEDIATING): "entrusted",
    (Stage.LITIGATING, Stage.COMMITTEE): "entrusted",
}


def _enter(
    ctx: StepContext,
    case: Case,
    mediation: Mediation,
    stage: Stage,
    at: datetime,
    via: str,
    onward: dict[str, Any],
) -> None:
    """Enters ``stage``: a new rung record where a rung begins, then its task and deadline."""
    session = ctx.session
    rung = ladder.RUNG_OF[stage]
    if stage in ladder.OPENS_RUNG:
        previous = current_rung(session=session, mediation=mediation)
        if previous is not None and previous.ended_at is None:
            previous.ended_at = at
            session.add(previous)
        session.add(
            MediationRung(
                mediation_id=mediation.id or 0,
                case_no=case.case_no,
                rung=rung,
                via=via,
                unit=mediation.unit,
                entered_at=at,
                details={
                    k: v.isoformat() if isinstance(v, date) else v
                    for k, v in onward.items()
                    if k != "start"
                },
            )
        )
    mediation.stage = stage
    session.add(mediation)
    kind, limit = WORK[stage], _limit(stage)
    # A court's date for its entrusted mediation (委托调解), or a hand-down's sender's date
    # for the branch's first mediation, is kept as given.
    fixed = onward.get("due_on")
    policy = POLICY[stage]
    if fixed is None and stage == Stage.MEDIATING and via == "accepted" and case.sender_due_date:
        fixed, policy = case.sender_due_date, DeadlinePolicy.SUPERVISE
    start = onward.get("start", at)
    deadline = kit.open_deadline(
        ctx,
        case,
        limit,
        start,
        mediation.unit,
        fixed_due=fixed,
        policy=policy,
        owner=mediation.id,
    )
    context = {k: v for k, v in onward.items() if k in ("committee", "committee_name", "court")}
    kit.open_task(
        ctx,
        case,
        kind,
        mediation.unit,
        deadline=deadline,
        context={"number": mediation.number, "rung": rung, "stage": stage, **context},
        owner=mediation.id,
    )
    kit.event(
        ctx,
        case,
        SYSTEM,
        "mediation_stage",
        number=mediation.number,
        rung=rung,
        level=ladder.LEVEL[rung],
        stage=stage,
        via=via,
    )


def _end(
    ctx: StepContext,
    case: Case,
    mediation: Mediation,
    outcome: Outcome,
    at: datetime,
    actor: str,
) -> None:
    """The ladder ends: its open tasks are cancelled and its deadlines done with."""
    record = current_rung(session=ctx.session, mediation=mediation)
    if record is not None and record.ended_at is None:
        record.ended_at = at
        if record.outcome is None:
            record.outcome = outcome if outcome in (Outcome.WITHDRAWN, Outcome.STOPPED) else None
        ctx.session.add(record)
    kit.cancel_tasks(
        ctx,
        case,
        [t for t in kit.active_tasks(ctx.session, case.case_no) if t.mediation_id == mediation.id],
    )
    kit.end_deadlines(
        ctx,
        case,
        ctx.session.exec(
            select(Deadline).where(
                Deadline.mediation_id == mediation.id, col(Deadline.met_at).is_(None)
            )
        ).all(),
        at,
    )
    mediation.state = MediationState.ENDED
    mediation.stage = Stage.ENDED
    mediation.outcome = outcome
    mediation.ended_at = at
    mediation.ended_by = actor
    ctx.session.add(mediation)
    kit.event(ctx, case, actor, "mediation_ended", number=mediation.number, outcome=outcome)
    kit.refresh_overdue(ctx, case, ended_only=True)


STEPS: dict[str, Step] = {
    "open_mediation": opened,
    "end_mediation": stopped,
}
