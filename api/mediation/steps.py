"""The steps of the mediation ladder, applied for ``record_step`` like every case step.

``begin`` is called from a step of the case's own workflow (acceptance, a station's
registration, a redo): it opens the case's next ``Mediation`` with its first rung's tasks
and deadlines, owned by that mediation, so its ``MediationWorkflow`` can be started with
them in place. Every later step is the mediation workflow's own (``complete``, ``expire``,
``stopped``), until ``conclude``, the case workflow's step that takes the ladder's outcome.
"""

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from sqlmodel import Session, col, select

from api.calendar.workdays import ZONE, deadline_instant
from api.cases.lifecycle import Status
from api.cases.models import Case, Deadline, DeadlinePolicy, DeadlineState, Submission
from api.db import utcnow
from api.mediation import ladder
from api.mediation.ladder import Move, Outcome, Rung, Stage
from api.mediation.models import (
    Mediation,
    MediationConsent,
    MediationRung,
    MediationState,
    amount,
)
from api.tasks import forms
from api.tasks import service as tasks
from api.tasks.models import Task, TaskKind
from api.users.models import Role

if TYPE_CHECKING:
    from api.cases.steps import StepContext

__all__ = ["Rung", "begin", "complete", "conclude", "end_open", "expire", "opened", "stopped"]

# What each stage asks of whom, and the deadline that bounds it.
_WORK: dict[Stage, tuple[TaskKind, Role, str]] = {
    Stage.RECONCILING: (TaskKind.RECONCILE, Role.STATION, "reconcile"),
    Stage.MEDIATING: (TaskKind.HANDLE, Role.HANDLER, "handle"),
    Stage.NOTIFYING: (TaskKind.NOTIFY_TERMINATION, Role.HANDLER, "termination_notice"),
    Stage.COMMITTEE: (TaskKind.COMMITTEE_RESULT, Role.HANDLER, "people_mediation"),
    Stage.WINDOW: (TaskKind.JUDICIAL_APPLICATION, Role.HANDLER, "judicial_confirmation"),
    Stage.CONFIRMING: (TaskKind.COURT_RULING, Role.HANDLER, "court_ruling"),
    Stage.LITIGATING: (TaskKind.COURT_OUTCOME, Role.HANDLER, "court_outcome"),
}

# The unit's own work is chased (督办); a time that ends its step by law expires; a
# court's time is only watched.
_POLICY: dict[Stage, DeadlinePolicy] = {
    Stage.RECONCILING: DeadlinePolicy.EXPIRE,
    Stage.MEDIATING: DeadlinePolicy.EXPIRE,
    Stage.NOTIFYING: DeadlinePolicy.SUPERVISE,
    Stage.COMMITTEE: DeadlinePolicy.SUPERVISE,
    Stage.WINDOW: DeadlinePolicy.EXPIRE,
    Stage.CONFIRMING: DeadlinePolicy.WATCH,
    Stage.LITIGATING: DeadlinePolicy.WATCH,
}

LADDER_KINDS = frozenset(kind for kind, _, _ in _WORK.values())


def _steps() -> Any:
    # The case steps' helpers; imported late, as that module imports this one.
    from api.cases import steps

    return steps


# --- reading -----------------------------------------------------------------------------


def of_case(*, session: Session, case: Case, number: int) -> Mediation:
    found = session.exec(
        select(Mediation).where(Mediation.case_no == case.case_no, Mediation.number == number)
    ).first()
    if found is None:
        raise HTTPException(409, f"case {case.case_no} has no mediation {number}")
    return found


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


def missing_consent(*, session: Session, mediation: Mediation, purpose: str) -> str | None:
    """Why the parties' consent to ``purpose`` is lacking, or None when both gave it."""
    return ladder.missing_consent(
        ladder.Consent(purpose),
        [
            ladder.ConsentRecord(ladder.Party(c.party), c.given, c.given_on.isoformat())
            for c in consents(session=session, mediation=mediation, purpose=purpose)
        ],
    )


# --- the steps ---------------------------------------------------------------------------


def begin(
    ctx: "StepContext", case: Case, *, rung: Rung, unit: str, at: datetime, via: str
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
    _steps()._event(
        ctx,
        case,
        _steps().SYSTEM,
        "mediation_started",
        number=mediation.number,
        rung=rung,
        unit=unit,
        via=via,
    )
    _enter(ctx, case, mediation, stage, at, via, {})
    return mediation


def opened(ctx: "StepContext", case: Case) -> None:
    """The mediation's workflow has taken it over."""
    mediation = _own(ctx)
    if mediation.state == MediationState.STARTING:
        mediation.state = MediationState.OPEN
        ctx.session.add(mediation)


def complete(
    ctx: "StepContext",
    case: Case,
    mediation: Mediation,
    task: Task,
    submission: Submission,
    body: Any,
) -> None:
    """A rung's task is done: the ladder moves as the body decides."""
    steps = _steps()
    at, actor = submission.created_at, submission.actor
    stage = Stage(mediation.stage)
    if task.kind != _WORK[stage][0]:
        raise HTTPException(409, f"a {task.kind} task is not the work of {stage.value}")
    steps._meet(ctx, case, task.deadline_id, at)
    try:
        move = ladder.move(stage, forms.decision(body))
    except ladder.IllegalMove as error:
        raise HTTPException(409, str(error)) from error
    facts, onward = _facts(ctx, case, body)
    event, data = _EVENTS[type(body)]
    steps._event(ctx, case, actor, event, number=mediation.number, **data(body, facts))
    if move.consent is not None:
        # The consents the move rests on, as the evidence it was made with: on the record
        # of the rung it enters (or continues, for a joint application to the court).
        evidence = [
            c.id for c in consents(session=ctx.session, mediation=mediation, purpose=move.consent)
        ]
        (onward if move.to in ladder.OPENS_RUNG else facts)["consents"] = evidence
    _take(ctx, case, mediation, move, at, actor, facts, onward)


def expire(ctx: "StepContext", case: Case, mediation: Mediation, deadline: Deadline) -> None:
    """A time that ends its step by law has passed (调解期满终止, 司法确认申请期限届满,
    和解期满): the step ends as the law says, and the ladder moves on."""
    steps = _steps()
    stage = Stage(mediation.stage)
    if stage not in ladder.EXPIRES or _WORK[stage][2] != deadline.name:
        return  # the stage moved on while the timer ran
    # The step ended at the close of the deadline's last day.
    ended = deadline_instant(deadline.due_date) - timedelta(seconds=1)
    deadline.met_at = deadline.due_at
    deadline.state = DeadlineState.MET
    ctx.session.add(deadline)
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        if task.deadline_id == deadline.id:
            tasks.cancel(task=task)
            ctx.session.add(task)
            steps._event(ctx, case, steps.SYSTEM, "task_cancelled", task_id=task.id, kind=task.kind)
    facts: dict[str, Any] = {"expired": True}
    data: dict[str, Any] = {"number": mediation.number, "name": deadline.name}
    if stage == Stage.MEDIATING:
        code = ctx.rules.by_code(case.rule_set).limit("handle").expiry_ground
        ground = ctx.rules.by_code(case.rule_set).ground("terminate", code) if code else None
        facts.update(ground=code, article=ground.article if ground else None)
        data.update(ground=code)
    steps._event(ctx, case, steps.SYSTEM, "deadline_expired", **data)
    if stage == Stage.MEDIATING:
        steps._event(
            ctx,
            case,
            steps.SYSTEM,
            "mediation_terminated",
            number=mediation.number,
            ground=facts["ground"],
            expired=True,
        )
    _take(ctx, case, mediation, ladder.move(stage, "expired"), ended, steps.SYSTEM, facts, {})
    steps._refresh_overdue(ctx, case)


def stopped(ctx: "StepContext", case: Case) -> None:
    """The mediation's workflow was cancelled before the ladder ended (the complaint ended
    without ending it): it ends here, on record."""
    mediation = _own(ctx)
    if has_ended(mediation):
        return
    outcome = Outcome.WITHDRAWN if case.status == Status.WITHDRAWN else Outcome.STOPPED
    _end(ctx, case, mediation, outcome, utcnow(), _steps().SYSTEM)


def end_open(ctx: "StepContext", case: Case, actor: str, at: datetime) -> None:
    """The complaint was withdrawn: its running ladder ends with it, at whatever rung."""
    for mediation in ctx.session.exec(
        select(Mediation).where(
            Mediation.case_no == case.case_no, Mediation.state != MediationState.ENDED
        )
    ).all():
        _end(ctx, case, mediation, Outcome.WITHDRAWN, at, actor)


def reassign(ctx: "StepContext", mediation: Mediation, unit: str) -> None:
    mediation.unit = unit
    ctx.session.add(mediation)


def conclude(ctx: "StepContext", case: Case) -> None:
    """The case's step after its mediation returned: the handle step completes from the
    ladder's outcome (a reply and a callback), or the case moves on (closed when settled at
    a station, triage when not, triage when returned)."""
    steps = _steps()
    mediation = steps.mediation_of(session=ctx.session, case=case)
    if mediation is None or not has_ended(mediation):
        return
    if case.status not in (Status.RECONCILIATION, Status.HANDLING):
        return
    outcome = Outcome(mediation.outcome) if mediation.outcome else None
    at = mediation.ended_at or utcnow()
    actor = mediation.ended_by or steps.SYSTEM
    if outcome in (None, Outcome.WITHDRAWN, Outcome.STOPPED):
        return
    if outcome == Outcome.RECONCILED:
        case.outcome = outcome
        steps._close(ctx, case, Status.CLOSED, actor, at)
    elif outcome == Outcome.UNRESOLVED:
        # 和解不成: on to the centre, whose triage time starts now.
        steps._move(ctx, case, Status.TRIAGE, actor)
        steps._open_triage_task(ctx, case, at)
    elif outcome == Outcome.RETURNED:
        steps.return_to_triage(ctx, case, actor, at, mediation.unit)
    else:
        case.outcome = outcome
        steps._event(
            ctx, case, actor, "handling_concluded", outcome=outcome, number=mediation.number
        )
        steps.reply(ctx, case, actor, at, case.unit)


# --- the ladder's moves ------------------------------------------------------------------


def _own(ctx: "StepContext") -> Mediation:
    if ctx.mediation is None:
        raise HTTPException(409, "this step is a mediation's, and names none")
    return ctx.mediation


def _take(
    ctx: "StepContext",
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
    ctx: "StepContext",
    case: Case,
    mediation: Mediation,
    stage: Stage,
    at: datetime,
    via: str,
    onward: dict[str, Any],
) -> None:
    """Enters ``stage``: a new rung record where a rung begins, then its task and deadline."""
    steps = _steps()
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
    kind, role, limit = _WORK[stage]
    # A court's date for its entrusted mediation (委托调解), or a hand-down's sender's date
    # for the branch's first mediation, is kept as given.
    fixed = onward.get("due_on")
    policy = _POLICY[stage]
    if fixed is None and stage == Stage.MEDIATING and via == "accepted" and case.sender_due_date:
        fixed, policy = case.sender_due_date, DeadlinePolicy.SUPERVISE
    start = onward.get("start", at)
    deadline = steps.open_deadline(
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
    steps._task(
        ctx,
        case,
        kind,
        role,
        mediation.unit,
        deadline=deadline,
        context={"number": mediation.number, "rung": rung, "stage": stage, **context},
        owner=mediation.id,
    )
    steps._event(
        ctx,
        case,
        steps.SYSTEM,
        "mediation_stage",
        number=mediation.number,
        rung=rung,
        level=ladder.LEVEL[rung],
        stage=stage,
        via=via,
    )


def _end(
    ctx: "StepContext",
    case: Case,
    mediation: Mediation,
    outcome: Outcome,
    at: datetime,
    actor: str,
) -> None:
    """The ladder ends: its open tasks are cancelled and its deadlines done with."""
    steps = _steps()
    record = current_rung(session=ctx.session, mediation=mediation)
    if record is not None and record.ended_at is None:
        record.ended_at = at
        if record.outcome is None:
            record.outcome = outcome if outcome in (Outcome.WITHDRAWN, Outcome.STOPPED) else None
        ctx.session.add(record)
    for task in tasks.active(session=ctx.session, case_no=case.case_no):
        if task.mediation_id == mediation.id:
            tasks.cancel(task=task)
            ctx.session.add(task)
            steps._event(ctx, case, steps.SYSTEM, "task_cancelled", task_id=task.id, kind=task.kind)
    for deadline in ctx.session.exec(
        select(Deadline).where(
            Deadline.mediation_id == mediation.id, col(Deadline.met_at).is_(None)
        )
    ).all():
        deadline.met_at = at
        if deadline.state in (DeadlineState.PENDING, DeadlineState.PAUSED):
            deadline.state = DeadlineState.MET
        ctx.session.add(deadline)
    mediation.state = MediationState.ENDED
    mediation.stage = Stage.ENDED
    mediation.outcome = outcome
    mediation.ended_at = at
    mediation.ended_by = actor
    ctx.session.add(mediation)
    steps._event(ctx, case, actor, "mediation_ended", number=mediation.number, outcome=outcome)
    steps._refresh_overdue(ctx, case)


# --- what each body records --------------------------------------------------------------


def _committee(ctx: "StepContext", code: str | None) -> dict[str, Any]:
    if code is None:
        return {}
    return {"committee": code, "committee_name": ctx.committees.get(code, code)}


def _noon(day: date) -> datetime:
    """A day as an instant inside it, to count a deadline from it (that day not counted)."""
    return datetime.combine(day, time(12), ZONE)


def _facts(ctx: "StepContext", case: Case, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The structured facts of a body for the rung being left, and for the stage entered."""
    match body:
        case forms.Settled() | forms.Agreement() | forms.CourtDecided():
            return {"amount_recovered": amount(body.amount_recovered)}, {}
        case forms.Termination():
            ground = ctx.rules.by_code(case.rule_set).ground("terminate", body.ground)
            return {"ground": body.ground, "article": ground.article if ground else None}, {}
        case forms.TerminationNotice():
            told = {
                "complainant": body.complainant,
                "respondent": body.respondent,
                "told_on": body.told_on.isoformat(),
            }
            return {"notified": told}, _committee(ctx, body.committee)
        case forms.CommitteeAgreement():
            facts = {
                "signed_on": body.signed_on.isoformat(),
                "amount_recovered": amount(body.amount_recovered),
            }
            # 人民调解法 art. 33: the 30 days run from the agreement taking effect (signed).
            return facts, {"signed_on": body.signed_on.isoformat(), "start": _noon(body.signed_on)}
        case forms.JudicialApplied():
            onward = {"court": body.court, "start": _noon(body.applied_on)}
            return {"court": body.court, "applied_on": body.applied_on.isoformat()}, onward
        case forms.RulingConfirmed():
            # 司法确认: the agreement can now be enforced by a court (申请强制执行).
            confirmed = {
                "ruling_no": body.ruling_no,
                "ruled_on": body.ruled_on.isoformat(),
                "enforceable": True,
            }
            return confirmed, {}
        case forms.RulingInvalid():
            refused: dict[str, Any] = {
                "ruling_no": body.ruling_no,
                "ruled_on": body.ruled_on.isoformat(),
            }
            return refused, _committee(ctx, body.committee)
        case forms.CourtEntrusted():
            onward = {
                "due_on": body.due_on,
                "court_ref": body.court_ref,
                **_committee(ctx, body.committee),
            }
            return {"entrusted_to": body.rung}, onward
    return {}, {}


def _plain(body: Any, facts: dict[str, Any]) -> dict[str, Any]:
    return {}


_EVENTS: dict[type, tuple[str, Any]] = {
    forms.Settled: ("reconciled", lambda b, f: {"amount_recovered": f["amount_recovered"]}),
    forms.NotSettled: ("reconciliation_failed", _plain),
    forms.Agreement: ("mediation_agreed", lambda b, f: {"amount_recovered": f["amount_recovered"]}),
    forms.Termination: ("mediation_terminated", lambda b, f: {"ground": b.ground}),
    forms.Return: ("mediation_returned", _plain),
    forms.TerminationNotice: (
        "termination_notified",
        lambda b, f: {**f["notified"], "next": b.next},
    ),
    forms.CommitteeAgreement: (
        "people_mediation_agreed",
        lambda b, f: {"signed_on": f["signed_on"]},
    ),
    forms.CommitteeFailed: ("people_mediation_failed", lambda b, f: {"next": b.next}),
    forms.JudicialApplied: ("judicial_confirmation_applied", lambda b, f: {"court": b.court}),
    forms.JudicialDeclined: ("judicial_confirmation_declined", _plain),
    forms.RulingConfirmed: ("judicially_confirmed", lambda b, f: {"ruling_no": b.ruling_no}),
    forms.RulingInvalid: ("judicial_confirmation_refused", lambda b, f: {"next": b.next}),
    forms.CourtDecided: ("court_outcome", lambda b, f: {"outcome": b.outcome}),
    forms.CourtEntrusted: ("court_entrusted", lambda b, f: {"rung": b.rung}),
}
