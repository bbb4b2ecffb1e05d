"""The steps of a sector review's files, as their ``DutyWorkflow`` records them.

- **The review** (``review``): opened with a stop at the period's last day (a day it
  looks, not a unit's to meet); there, what was found and rectified per review point and
  business is reported and kept, and the file closes.
- **A rectification order** (``review_order``): the following-up unit's task 评议整改落实,
  due ``review_rectification_working_days`` after the finding; done with what the
  business did and the day; escalated when late like any late case.
"""

from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.deadlines.models import DeadlinePolicy, DeadlineState
from api.errors import Refused
from api.reviews import service
from api.reviews.models import ReviewChange, ReviewReport
from api.rules.rulesets import Limit
from api.stations.steps import DUTY_SHARED, by_task_kind
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.tasks import forms
from api.tasks.models import TaskKind
from api.users.models import CITY_UNIT
from api.workdays import local_date
from workflows.messages import RecordStepInput

END = "review_end"  # the deadlines' names (labels.DEADLINE)
ORDER = "review_rectification"


def _sector(ctx: StepContext, sector: str) -> service.Sector:
    if ctx.duties is None:
        raise RuntimeError("the step context lacks the duties' terms")
    return service.sectors_in_force(ctx.session, ctx.duties.reviews_file)[sector]


def open_review(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    del input
    review = service.of_case(ctx.session, case.case_no)
    kit.move(ctx, case, Status.ASSIGNED, SYSTEM)
    kit.open_deadline(
        ctx,
        case,
        END,
        case.registered_at,
        CITY_UNIT,
        fixed_due=review.ends_on,
        policy=DeadlinePolicy.WATCH,
    )
    kit.event(ctx, case, SYSTEM, "review_opened", review=review.code, sector=review.sector)


def review_end(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The period's last day: the report kept, and the file closed."""
    stop = kit.deadline_of(ctx, case, input.deadline_id)
    if stop.met_at is not None:
        return
    review = service.of_case(ctx.session, case.case_no)
    found = service.report(ctx.session, review, _sector(ctx, review.sector), stop.due_date)
    ctx.session.add(ReviewReport(review=review.code, on=stop.due_date, results=found))
    ctx.session.add(
        ReviewChange(review=review.code, by=SYSTEM, change={"reported": found["totals"]})
    )
    stop.state = DeadlineState.MET
    stop.met_at = stop.due_at
    ctx.session.add(stop)
    kit.event(ctx, case, SYSTEM, "review_ended", **found["totals"])
    kit.close(ctx, case, Status.CLOSED, SYSTEM, stop.due_at)


def recompute(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The calendar changed: the review's last day is a calendar day, and does not move."""
    del ctx, case, input


def open_order(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    del input
    if ctx.duties is None:
        raise RuntimeError("the step context lacks the duties' terms")
    finding = service.finding_of_order(ctx.session, case.case_no)
    unit = str(case.unit)
    kit.move(ctx, case, Status.ASSIGNED, SYSTEM)
    days = ctx.duties.review_rectification_working_days
    deadline = kit.open_deadline(
        ctx,
        case,
        ORDER,
        case.registered_at,
        unit,
        limit=Limit.model_validate({"working_days": days}),
    )
    kit.open_task(
        ctx,
        case,
        TaskKind.REVIEW_RECTIFIED,
        unit,
        deadline=deadline,
        context={"review": finding.review, "point": finding.point, "business": finding.credit_code},
    )


def _rectified(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    taken = kit.take(ctx, case, input, TaskKind.REVIEW_RECTIFIED)
    assert isinstance(taken.body, forms.Rectified)
    if taken.body.done_on > local_date(taken.at):
        raise Refused("stations.done_in_future", "the rectification cannot be done after today")
    finding = service.finding_of_order(ctx.session, case.case_no)
    finding.rectified_on = taken.body.done_on
    finding.rectification = taken.body.summary
    ctx.session.add(finding)
    kit.meet(ctx, case, taken.task.deadline_id, taken.at)
    kit.event(ctx, case, taken.actor, "review_rectified", review=finding.review)
    kit.close(ctx, case, Status.CLOSED, taken.actor, taken.at)


REVIEW_STEPS: dict[str, Step] = {
    "open_duty": open_review,
    "deadline_passed": review_end,
    "recompute": recompute,
}
ORDER_STEPS: dict[str, Step] = {
    **DUTY_SHARED,
    "open_duty": open_order,
    "complete_task": by_task_kind({TaskKind.REVIEW_RECTIFIED: _rectified}),
}
