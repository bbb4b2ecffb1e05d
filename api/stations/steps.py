"""The steps of the station network's duties, as their workflows (``DutyWorkflow``) record
them. Each kind also takes the escalation's steps (a late list or rectification is warned,
supervised, chased and criticised like a case) and the calendar's recompute.

示范点名单: opened (the branch head's task, due ``demonstration_due``) → named (the city's
review task) → approved (the stations flagged 示范点, the branch's earlier ones no longer)
or sent back (the branch's task again, due ``demonstration_resubmit_working_days`` on).

整改: opened (the branch's task, due ``station_rectification_working_days`` after the
assessment) → rectified (what was done, and the day).
"""

from datetime import date

from sqlmodel import col, select

from api.casefile.lifecycle import Status
from api.casefile.models import Case
from api.clock import steps as clock
from api.deadlines.models import Deadline
from api.errors import Refused
from api.rules.rulesets import Limit
from api.stations import duties
from api.stations.models import HostType, Station, StationChange
from api.steps import kit
from api.steps.kit import SYSTEM, DutyTerms, Step, StepContext
from api.supervision import steps as supervision
from api.tasks import forms
from api.tasks.models import Task, TaskKind
from api.users.models import CITY_UNIT
from api.workdays import local_date
from workflows.messages import RecordStepInput

# The deadlines' names (labels.DEADLINE).
NAMING = "demonstration"  # 示范点申报时限
RECTIFYING = "rectification"  # 整改时限


def _terms(ctx: StepContext) -> DutyTerms:
    if ctx.duties is None:
        raise RuntimeError("the step context lacks the duties' terms")
    return ctx.duties


# --- demonstration sites ---------------------------------------------------------------------


def open_demonstration(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The branch head is given the year's list to name, due on the configured day."""
    del input
    listed = duties.list_of_case(ctx.session, case.case_no)
    month, day = _terms(ctx).demonstration_due
    kit.move(ctx, case, Status.ASSIGNED, SYSTEM)
    deadline = kit.open_deadline(
        ctx,
        case,
        NAMING,
        case.registered_at,
        str(case.unit),
        fixed_due=date(listed.year, month, day),
    )
    _naming_task(ctx, case, deadline, listed.year)


def _naming_task(ctx: StepContext, case: Case, deadline: Deadline, year: int) -> None:
    unit = str(case.unit)
    kit.open_task(
        ctx,
        case,
        TaskKind.NAME_SITES,
        unit,
        deadline=deadline,
        context={"year": year, "branch": unit},
    )


def _name(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The branch names one open 五进 station of its own per host type; the city reviews."""
    taken = kit.take(ctx, case, input, TaskKind.NAME_SITES)
    assert isinstance(taken.body, forms.NameSites)
    sites = {host.value: getattr(taken.body, host.value) for host in HostType}
    listed = duties.list_of_case(ctx.session, case.case_no)
    problem = duties.site_problem(ctx.session, listed.branch, sites)
    if problem is not None:  # a station closed or moved since the form was checked
        raise Refused(problem[1], f"{problem[0]}: {problem[2]}")
    names = dict(
        ctx.session.exec(
            select(Station.code, Station.name).where(col(Station.code).in_(list(sites.values())))
        ).all()
    )
    listed.sites = sites
    listed.submitted_at = taken.at
    listed.submitted_by = taken.actor
    ctx.session.add(listed)
    kit.meet(ctx, case, taken.task.deadline_id, taken.at)
    kit.event(ctx, case, taken.actor, "demonstration_named", year=listed.year, sites=sites)
    kit.move(ctx, case, Status.SUBMITTED, taken.actor)
    kit.open_task(
        ctx,
        case,
        TaskKind.REVIEW_SITES,
        CITY_UNIT,
        context={
            "year": listed.year,
            "branch": listed.branch,
            "sites": {host: {"code": s, "name": names[s]} for host, s in sites.items()},
        },
    )


def _review(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The city approves the list (its stations are the branch's 示范点 from now on) or
    sends it back with its reason."""
    taken = kit.take(ctx, case, input, TaskKind.REVIEW_SITES)
    listed = duties.list_of_case(ctx.session, case.case_no)
    if isinstance(taken.body, forms.ReturnSites):
        listed.returned += 1
        ctx.session.add(listed)
        kit.event(ctx, case, taken.actor, "demonstration_returned", reason=taken.body.reason)
        kit.move(ctx, case, Status.ASSIGNED, taken.actor)
        # Due again the configured working days after the return.
        days = _terms(ctx).resubmit_working_days
        deadline = kit.open_deadline(
            ctx,
            case,
            NAMING,
            taken.at,
            str(case.unit),
            limit=Limit.model_validate({"working_days": days}),
        )
        _naming_task(ctx, case, deadline, listed.year)
        return
    listed.approved_at = taken.at
    listed.approved_by = taken.actor
    ctx.session.add(listed)
    named = set(listed.sites.values())
    for station in ctx.session.exec(
        select(Station).where(
            Station.branch == listed.branch,
            (col(Station.code).in_(named)) | (col(Station.demonstration).is_(True)),
        )
    ).all():
        flagged = station.code in named
        if station.demonstration == flagged:
            continue
        station.demonstration = flagged
        station.version += 1
        ctx.session.add(station)
        ctx.session.add(
            StationChange(
                station=station.code,
                at=taken.at,
                by=taken.actor,
                change={
                    "demonstration": {"from": not flagged, "to": flagged},
                    "file_no": case.case_no,
                    "year": listed.year,
                },
            )
        )
    kit.event(ctx, case, taken.actor, "demonstration_approved", year=listed.year)
    kit.close(ctx, case, Status.CLOSED, taken.actor, taken.at)


# --- rectification ---------------------------------------------------------------------------


def open_rectification(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    """The branch is given the station's rectification, due within the configured
    working days of the assessment."""
    del input
    found = duties.rectification_of_case(ctx.session, case.case_no)
    kit.move(ctx, case, Status.ASSIGNED, SYSTEM)
    unit = str(case.unit)
    days = _terms(ctx).rectification_working_days
    deadline = kit.open_deadline(
        ctx,
        case,
        RECTIFYING,
        case.registered_at,
        unit,
        limit=Limit.model_validate({"working_days": days}),
    )
    kit.open_task(
        ctx,
        case,
        TaskKind.RECTIFY,
        unit,
        deadline=deadline,
        context={"station": found.station, "year": found.year},
    )


def _rectified(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
    taken = kit.take(ctx, case, input, TaskKind.RECTIFY)
    assert isinstance(taken.body, forms.Rectified)
    if taken.body.done_on > local_date(taken.at):
        raise Refused("stations.done_in_future", "the rectification cannot be done after today")
    found = duties.rectification_of_case(ctx.session, case.case_no)
    found.summary = taken.body.summary
    found.done_on = taken.body.done_on
    found.done_by = taken.actor
    found.done_at = taken.at
    ctx.session.add(found)
    ctx.session.add(
        StationChange(
            station=found.station,
            at=taken.at,
            by=taken.actor,
            change={"rectified": {"file_no": case.case_no, "done_on": str(found.done_on)}},
        )
    )
    kit.meet(ctx, case, taken.task.deadline_id, taken.at)
    kit.event(ctx, case, taken.actor, "rectified", station=found.station)
    kit.close(ctx, case, Status.CLOSED, taken.actor, taken.at)


def by_task_kind(by_kind: dict[TaskKind, Step]) -> Step:
    """``complete_task`` applied by the kind of the task it completes."""

    def complete(ctx: StepContext, case: Case, input: RecordStepInput) -> None:
        task = ctx.session.get(Task, input.task_id) if input.task_id else None
        step = by_kind.get(TaskKind(task.kind)) if task is not None else None
        if step is None:
            raise Refused("task.not_current", f"task {input.task_id} is not a task of this file")
        step(ctx, case, input)

    return complete


# What every duty takes besides its own: the escalation, and the calendar's recompute.
DUTY_SHARED: dict[str, Step] = {
    **supervision.STEPS,
    "recompute": clock.STEPS["recompute"],
    "request_extension": clock.STEPS["request_extension"],
    "decide_extension": clock.STEPS["decide_extension"],
}

DEMONSTRATION_STEPS: dict[str, Step] = {
    **DUTY_SHARED,
    "open_duty": open_demonstration,
    "complete_task": by_task_kind({TaskKind.NAME_SITES: _name, TaskKind.REVIEW_SITES: _review}),
}
RECTIFICATION_STEPS: dict[str, Step] = {
    **DUTY_SHARED,
    "open_duty": open_rectification,
    "complete_task": by_task_kind({TaskKind.RECTIFY: _rectified}),
}
