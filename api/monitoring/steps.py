"""The steps of a delisting (退市), as its ``DutyWorkflow`` records them: opened (the
branch's task, due ``monitoring_delisting_working_days`` after) → delisted (the quantity
taken off sale, and the day). Late, it is warned, supervised, chased and criticised like a
case (the escalation's steps)."""

from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.errors import Refused
from api.monitoring import service
from api.rules.rulesets import Limit
from api.stations.steps import DUTY_SHARED, by_task_kind
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.tasks import forms
from api.tasks.models import TaskKind
from api.workdays import local_date
from workflows.messages import RecordStepInput

DELISTING = "delisting"  # the deadline's name (labels.DEADLINE): 退市时限


def open_delisting(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The branch is given the failed lot's delisting at the outlet, due within the
    configured working days."""
    del input
    if ctx.duties is None:
        raise RuntimeError("the step context lacks the duties' terms")
    _, sample = service.delisting_of_case(ctx.session, case.case_no)
    unit = str(case.unit)
    kit.move(ctx, case, Status.ASSIGNED, SYSTEM)
    deadline = kit.open_deadline(
        ctx,
        case,
        DELISTING,
        case.registered_at,
        unit,
        limit=Limit.model_validate({"working_days": ctx.duties.delisting_working_days}),
    )
    kit.open_task(
        ctx,
        case,
        TaskKind.DELIST,
        unit,
        deadline=deadline,
        context={
            "sample": sample.sample_no,
            "commodity": sample.commodity,
            "outlet": sample.outlet,
            "lot": sample.lot,
        },
    )


def _delisted(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    taken = kit.take(ctx, case, input, TaskKind.DELIST)
    assert isinstance(taken.body, forms.Delisted)
    if taken.body.done_on > local_date(taken.at):
        raise Refused("monitoring.done_in_future", "the delisting cannot be done after today")
    found, sample = service.delisting_of_case(ctx.session, case.case_no)
    found.quantity = taken.body.quantity
    found.done_on = taken.body.done_on
    found.note = taken.body.note
    found.done_by = taken.actor
    found.done_at = taken.at
    ctx.session.add(found)
    kit.meet(ctx, case, taken.task.deadline_id, taken.at)
    kit.event(
        ctx,
        case,
        taken.actor,
        "delisted",
        sample=sample.sample_no,
        quantity=taken.body.quantity,
        done_on=taken.body.done_on.isoformat(),
    )
    kit.close(ctx, case, Status.CLOSED, taken.actor, taken.at)


STEPS: dict[str, Step] = {
    **DUTY_SHARED,
    "open_duty": open_delisting,
    "complete_task": by_task_kind({TaskKind.DELIST: _delisted}),
}
