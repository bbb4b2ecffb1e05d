"""The steps of a campaign's file (专项整治), as its ``DutyWorkflow`` records them.

- ``open_duty``: a stop (a fixed day, timed by the workflow) for each quarter's end within
  the period and for its last day;
- ``deadline_passed``: a stop reached. Each branch's cases filed are counted against the
  share of its quota due by then; a branch behind it gets the task 专项整治进度预警 (its
  head says what it will do). At the last day each branch has met or missed its quota, on
  record for the bulletin, and the file is closed;
- ``complete_task``: the head's answer to a warning.
"""

from datetime import date, datetime

from api.campaigns import service
from api.campaigns.models import CampaignCheckpoint
from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.deadlines.models import DeadlinePolicy, DeadlineState
from api.steps import kit
from api.steps.kit import SYSTEM, Step, StepContext
from api.tasks import forms
from api.tasks.models import TaskKind
from api.users.models import CITY_UNIT
from workflows.messages import RecordStepInput


def open_campaign(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    del input
    campaign = service.of_case(ctx.session, case.case_no)
    kit.move(ctx, case, Status.ASSIGNED, SYSTEM)
    for stop in service.stops(campaign):
        kit.open_deadline(
            ctx,
            case,
            stop.name,
            case.registered_at,
            CITY_UNIT,
            fixed_due=stop.on,
            policy=DeadlinePolicy.WATCH,
        )
    kit.event(
        ctx,
        case,
        SYSTEM,
        "campaign_opened",
        campaign=campaign.code,
        starts_on=campaign.starts_on.isoformat(),
        ends_on=campaign.ends_on.isoformat(),
    )


def checkpoint(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """A stop reached: the progress counted and kept; the branches behind warned; at the
    last day, met or missed, and the file closed."""
    stop = kit.deadline_of(ctx, case, input.deadline_id)
    if stop.met_at is not None:
        return
    campaign = service.of_case(ctx.session, case.case_no)
    final = stop.name == "campaign_end"
    on: date = stop.due_date
    found = service.progress(ctx.session, campaign, on, final)
    ctx.session.add(
        CampaignCheckpoint(
            campaign=campaign.code,
            name=stop.name,
            on=on,
            final=final,
            results={p.unit: p.model_dump() for p in found},
        )
    )
    stop.state = DeadlineState.MET
    stop.met_at = stop.due_at
    ctx.session.add(stop)
    behind = [p for p in found if p.behind and not final]
    for p in behind:
        kit.open_task(
            ctx,
            case,
            TaskKind.CAMPAIGN_BEHIND,
            p.unit,
            context={
                "campaign": campaign.code,
                "name": campaign.name,
                "on": on.isoformat(),
                "filed": p.filed,
                "quota": p.quota,
                "due_by_now": p.due_by_now,
            },
        )
    kit.event(
        ctx,
        case,
        SYSTEM,
        "campaign_checkpoint",
        name=stop.name,
        on=on.isoformat(),
        behind=[p.unit for p in behind],
    )
    if final:
        kit.event(
            ctx,
            case,
            SYSTEM,
            "campaign_ended",
            met=[p.unit for p in found if p.met],
            missed=[p.unit for p in found if p.met is False],
        )
        at: datetime = stop.due_at
        kit.close(ctx, case, Status.CLOSED, SYSTEM, at)


def answer(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The head of a branch behind says what it will do."""
    taken = kit.take(ctx, case, input, TaskKind.CAMPAIGN_BEHIND)
    assert isinstance(taken.body, forms.CampaignMeasures)
    kit.event(ctx, case, taken.actor, "campaign_measures", unit=taken.task.unit)


def recompute(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The calendar changed: a campaign's stops are calendar days, and do not move."""
    del ctx, case, input


STEPS: dict[str, Step] = {
    "open_duty": open_campaign,
    "deadline_passed": checkpoint,
    "complete_task": answer,
    "recompute": recompute,
}
