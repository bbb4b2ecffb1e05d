"""The steps of a complaint and of a report, for the case's own workflow.

A complaint: registered → triage → handling (the mediation ladder) → reply → callback →
closed; a report: triage → verification → filed or not → the reporter told →
investigation → closed. Each step is written with the step kit (``api.steps.kit``).
"""

from datetime import datetime

from sqlmodel import Session

from api.casefile.lifecycle import CaseKind, Status
from api.casefile.models import Case
from api.db import utcnow
from api.deadlines.models import Deadline
from api.errors import Refused
from api.mediation import steps as mediation
from api.mediation.ladder import Outcome, Rung
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.tasks import forms
from api.tasks.models import TaskKind
from api.units import service as units
from api.units.models import UnitKind
from api.users.models import CITY_UNIT
from workflows.messages import RecordStepInput


def open_triage(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The registered case goes to the centre's triage (受理审查), or first to the
    station's reconciliation (和解) when a station registered a complaint."""
    registrar = units.get(session=ctx.session, code=case.registered_unit)
    at_station = registrar is not None and registrar.kind == UnitKind.STATION
    if ctx.mediation_ladder and case.kind == CaseKind.COMPLAINT and at_station:
        kit.move(ctx, case, Status.RECONCILIATION, SYSTEM)
        mediation.begin(
            ctx,
            case,
            rung=Rung.RECONCILIATION,
            unit=case.registered_unit,
            at=case.received_at,
            via="registered",
        )
        return
    kit.move(ctx, case, Status.TRIAGE, SYSTEM)
    _open_triage_task(ctx, case, case.received_at)


def _open_triage_task(ctx: StepContext, case: Case, start: datetime) -> None:
    context = {"suggested_unit": case.suggested_unit}
    kit.open_bounded(ctx, case, TaskKind.TRIAGE, "triage", start, CITY_UNIT, context)


def triage(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """受理 (to a branch), 不予受理 (on a ground of the rule set) or 移送 (to another body)."""
    taken = kit.take(ctx, case, input, TaskKind.TRIAGE)
    body, actor, at = taken.body, taken.actor, taken.at
    kit.meet(ctx, case, taken.task.deadline_id, at)
    if case.kind == CaseKind.REPORT and isinstance(body, forms.AcceptTriage):
        case.unit = body.unit
        kit.move(ctx, case, Status.VERIFICATION, actor)
        kit.event(ctx, case, actor, "accepted", unit=body.unit)
        # 核查: fifteen working days from receipt (行政处罚程序规定 art. 18).
        kit.open_bounded(ctx, case, TaskKind.VERIFY, "verify", case.received_at, body.unit)
    elif isinstance(body, forms.AcceptTriage):
        case.unit = body.unit
        kit.move(ctx, case, Status.HANDLING, actor)
        kit.event(ctx, case, actor, "accepted", unit=body.unit)
        if ctx.mediation_ladder:
            # 行政调解: the dispute goes to the branch's mediation, rung 1 of the ladder.
            mediation.begin(
                ctx, case, rung=Rung.ADMINISTRATIVE, unit=body.unit, at=at, via="accepted"
            )
            return
        # A hand-down (交办) or transfer (转办) carries the deadline its sender set.
        deadline = kit.open_deadline(
            ctx, case, "handle", at, body.unit, fixed_due=case.sender_due_date
        )
        kit.open_task(ctx, case, TaskKind.HANDLE, body.unit, deadline=deadline)
    elif isinstance(body, forms.RejectTriage):
        ground = ctx.rules.by_code(case.rule_set).ground("reject", body.ground)
        case.outcome = "rejected"
        kit.event(
            ctx,
            case,
            actor,
            "rejected",
            ground=body.ground,
            article=ground.article if ground else None,
        )
        kit.close(ctx, case, Status.REJECTED, actor, at)
    elif isinstance(body, forms.ReferTriage):
        case.outcome = "referred"
        kit.event(ctx, case, actor, "referred", to=body.to)
        kit.close(ctx, case, Status.REFERRED, actor, at)


def reporter_not_told(*, session: Session, case: Case) -> Refused | None:
    """An investigation is not concluded before the real-name reporter is told that the
    case was filed (行政处罚程序规定 art. 18: within five working days)."""
    if any(t.kind == TaskKind.NOTIFY_REPORTER for t in kit.active_tasks(session, case.case_no)):
        return Refused(
            "report.reporter_not_told", "tell the real-name reporter that the case was filed first"
        )
    return None


def complete_task(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """A report's steps (verification, telling the reporter, investigation), the review of
    an unsatisfied callback, and each rung of a mediation."""
    taken = kit.take(ctx, case, input, None)
    if ctx.mediation_id is not None:
        mediation.complete(ctx, case, taken)
        return
    task, body, actor, at = taken.task, taken.body, taken.actor, taken.at
    unit = task.unit
    kit.meet(ctx, case, task.deadline_id, at)
    told = not case.anonymous and case.reporter is not None
    if isinstance(body, forms.Verify):
        filed = body.decision == "file"
        kit.event(ctx, case, actor, "filed" if filed else "not_filed")  # 立案 / 不予立案
        if told:
            kit.open_bounded(
                ctx,
                case,
                TaskKind.NOTIFY_REPORTER,
                "reporter_notice",
                at,
                unit,
                {"decision": body.decision},
            )
        if filed:
            kit.move(ctx, case, Status.INVESTIGATION, actor)
            kit.open_bounded(ctx, case, TaskKind.INVESTIGATE, "investigate", at, unit)
        else:
            case.outcome = "not_filed"
            if told:
                kit.move(ctx, case, Status.NOT_FILED, actor)
            else:
                kit.close(ctx, case, Status.CLOSED, actor, at)
    elif isinstance(body, forms.NotifyReporter):
        kit.event(ctx, case, actor, "reporter_told", channel=body.channel)
        if case.status == Status.NOT_FILED:
            kit.close(ctx, case, Status.CLOSED, actor, at)
    elif isinstance(body, forms.Review):
        if body.decision == "confirm":
            kit.event(ctx, case, actor, "handling_confirmed")
            kit.close(ctx, case, Status.CLOSED, actor, at)
            return
        kit.event(ctx, case, actor, "sent_back_for_redo", unit=case.unit)
        case.outcome = None
        case.satisfaction = None
        kit.move(ctx, case, Status.HANDLING, actor)
        if ctx.mediation_ladder:
            mediation.begin(
                ctx,
                case,
                rung=Rung.ADMINISTRATIVE,
                unit=case.unit or CITY_UNIT,
                at=at,
                via="redo",
            )
            return
        kit.open_bounded(ctx, case, TaskKind.HANDLE, "handle", at, case.unit or CITY_UNIT)
    elif isinstance(body, forms.Investigate):
        refusal = reporter_not_told(session=ctx.session, case=case)
        if refusal is not None:
            raise refusal
        case.outcome = body.decision
        kit.event(ctx, case, actor, "investigation_decided", decision=body.decision)
        kit.close(ctx, case, Status.CLOSED, actor, at)


def handle(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The plain handle task of a complaint started before the mediation ladder."""
    taken = kit.take(ctx, case, input, TaskKind.HANDLE)
    body, actor, at = taken.body, taken.actor, taken.at
    kit.meet(ctx, case, taken.task.deadline_id, at)
    if isinstance(body, forms.Return):
        return_to_triage(ctx, case, actor, at, taken.task.unit)
        return
    if isinstance(body, forms.Termination):
        case.outcome = body.outcome
        kit.event(ctx, case, actor, "mediation_terminated", ground=body.ground)
    elif isinstance(body, forms.Agreement):
        case.outcome = body.outcome
        kit.event(ctx, case, actor, "mediation_agreed", amount_recovered=str(body.amount_recovered))
    reply(ctx, case, actor, at, taken.task.unit)


def return_to_triage(ctx: StepContext, case: Case, actor: str, at: datetime, unit: str) -> None:
    """退回: a wrongly dispatched case goes back to triage; the transfer is recorded."""
    kit.event(ctx, case, actor, "returned", unit=unit)
    case.unit = None
    kit.move(ctx, case, Status.TRIAGE, actor)
    _open_triage_task(ctx, case, at)


def reply(ctx: StepContext, case: Case, actor: str, at: datetime, unit: str | None) -> None:
    """答复: the result is told to the complainant; the centre calls back."""
    kit.move(ctx, case, Status.REPLIED, actor)
    kit.event(ctx, case, actor, "replied", unit=unit)
    kit.open_bounded(ctx, case, TaskKind.CALLBACK, "callback", at, CITY_UNIT, {"attempt": 1})


def callback(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """回访: reached (with the satisfaction), or not reached (tried again, up to the rule
    set's number of attempts)."""
    taken = kit.take(ctx, case, input, TaskKind.CALLBACK)
    task, body, actor, at = taken.task, taken.body, taken.actor, taken.at
    assert isinstance(body, forms.CallbackBody)
    attempt = int(task.context.get("attempt", 1))
    if body.reached:
        case.satisfaction = body.satisfaction
        kit.event(
            ctx, case, actor, "callback_reached", attempt=attempt, satisfaction=body.satisfaction
        )
        kit.meet(ctx, case, task.deadline_id, at)
        if body.satisfaction == "unsatisfied":
            # 不满意: the supervisor sends it back for redo, or confirms the handling.
            if case.status != Status.CALLBACK:
                kit.move(ctx, case, Status.CALLBACK, actor)
            kit.open_task(
                ctx,
                case,
                TaskKind.REVIEW,
                CITY_UNIT,
                context={"satisfaction": body.satisfaction, "unit": case.unit},
            )
            return
        kit.close(ctx, case, Status.CLOSED, actor, at)
        return
    limit = ctx.rules.by_code(case.rule_set).limit("callback_attempts").count or 1
    kit.event(ctx, case, actor, "callback_unreached", attempt=attempt, of=limit)
    if attempt >= limit:
        case.satisfaction = "unreachable"
        kit.meet(ctx, case, task.deadline_id, at)
        kit.close(ctx, case, Status.CLOSED, actor, at)
        return
    if case.status != Status.CALLBACK:
        kit.move(ctx, case, Status.CALLBACK, actor)
    deadline = ctx.session.get(Deadline, task.deadline_id) if task.deadline_id else None
    kit.open_task(
        ctx,
        case,
        TaskKind.CALLBACK,
        CITY_UNIT,
        deadline=deadline,
        context={"attempt": attempt + 1},
    )


def withdraw(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """撤回: the complainant withdraws; the ladder ends with the complaint, at whatever
    rung it stands."""
    submission = kit.submission_of(ctx, case, input)
    case.outcome = "withdrawn"
    kit.event(ctx, case, submission.actor, "withdrawn")
    mediation.end_open(ctx, case, submission.actor, submission.created_at)
    kit.close(ctx, case, Status.WITHDRAWN, submission.actor, submission.created_at)


def conclude_mediation(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The case's step after its mediation returned: the handle step completes from the
    ladder's outcome (a reply and a callback), or the case moves on (closed when settled at
    a station, triage when not, triage when returned)."""
    ended = mediation.latest(session=ctx.session, case_no=case.case_no)
    if ended is None or not mediation.has_ended(ended):
        return
    if case.status not in (Status.RECONCILIATION, Status.HANDLING):
        return
    outcome = Outcome(ended.outcome) if ended.outcome else None
    at = ended.ended_at or utcnow()
    actor = ended.ended_by or SYSTEM
    if outcome in (None, Outcome.WITHDRAWN, Outcome.STOPPED):
        return
    if outcome == Outcome.RECONCILED:
        case.outcome = outcome
        kit.close(ctx, case, Status.CLOSED, actor, at)
    elif outcome == Outcome.UNRESOLVED:
        # 和解不成: on to the centre, whose triage time starts now.
        kit.move(ctx, case, Status.TRIAGE, actor)
        _open_triage_task(ctx, case, at)
    elif outcome == Outcome.RETURNED:
        return_to_triage(ctx, case, actor, at, ended.unit)
    else:
        case.outcome = outcome
        kit.event(ctx, case, actor, "handling_concluded", outcome=outcome, number=ended.number)
        reply(ctx, case, actor, at, case.unit)


STEPS: dict[str, Step] = {
    "open_triage": open_triage,
    "triage": triage,
    "handle": handle,
    "callback": callback,
    "withdraw": withdraw,
    "complete_task": complete_task,
    "conclude_mediation": conclude_mediation,
}
