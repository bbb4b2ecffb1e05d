"""Routes for the worker's activities only (service credential)."""

from fastapi import APIRouter, Depends

from api import metrics, tracing
from api.audit import archive, checkpoints
from api.audit.keys import signing_key
from api.bulletins import service as bulletins
from api.bulletins.figures import Month
from api.campaigns import service as campaigns
from api.deps import (
    DatabaseDep,
    SessionDep,
    SettingsDep,
    TemporalClientDep,
    TracingDep,
    require_service,
)
from api.errors import Invalid
from api.incidents import service as incidents
from api.internal import engine
from api.stations import duties
from api.steps.kit import SYSTEM
from api.workdays import local_date
from workflows.messages import (
    ArchiveResult,
    BulletinOpen,
    BulletinOpened,
    CampaignsOpen,
    CampaignsOpened,
    CheckpointInput,
    CheckpointResult,
    DemonstrationOpen,
    DemonstrationOpened,
    IncidentInput,
    IncidentResult,
    RecordStepInput,
    StepResult,
)

router = APIRouter(
    prefix="/internal/v1", tags=["internal"], dependencies=[Depends(require_service)]
)


@router.post("/cases/{case_no}/steps", response_model=StepResult)
def record_step(
    case_no: str,
    body: RecordStepInput,
    session: SessionDep,
    settings: SettingsDep,
    traces: TracingDep,
) -> StepResult:
    """Applies one workflow step, once per key: records it, moves tasks and deadlines."""
    if body.case_no != case_no:
        raise Invalid(("case_no", "case_no in the path and the body differ"))
    # Its duration and statements, the context's included; its span, when traced.
    with metrics.step(body.step), tracing.step(traces, step=body.step, case_no=case_no):
        return engine.apply(ctx=engine.context(session=session, settings=settings), input=body)


@router.post("/audit/checkpoints", response_model=CheckpointResult)
def take_checkpoint(
    body: CheckpointInput, session: SessionDep, settings: SettingsDep
) -> CheckpointResult:
    """Takes the audit checkpoint of every case log's head, once per key."""
    taken = checkpoints.take(session=session, key=signing_key(settings), name=body.key)
    return CheckpointResult(
        id=taken.id or 0, tree_size=taken.tree_size, root=taken.root, signature=taken.signature
    )


@router.post("/audit/archive", response_model=ArchiveResult)
async def archive_histories(
    db: DatabaseDep, temporal: TemporalClientDep, settings: SettingsDep
) -> ArchiveResult:
    """Archives the Temporal histories of cases closed since (up to a batch of them)."""
    batch = 200
    done = await archive.archive_closed(db=db, client=temporal, settings=settings, limit=batch)
    return ArchiveResult(cases=done, batch=batch)


@router.post("/cases/{case_no}/incidents", response_model=IncidentResult)
def open_incident(case_no: str, body: IncidentInput, session: SessionDep) -> IncidentResult:
    """A step failed every attempt: the case has an incident (once per step key)."""
    if body.case_no != case_no:
        raise Invalid(("case_no", "case_no in the path and the body differ"))
    return incidents.open_incident(session=session, input=body)


@router.post("/cases/{case_no}/incidents/{incident_id}/resolve", status_code=204)
def resolve_incident(case_no: str, incident_id: int, session: SessionDep) -> None:
    """The step of the incident went through at last."""
    incidents.resolve(session=session, case_no=case_no, incident_id=incident_id)


@router.post("/bulletins", response_model=BulletinOpened)
def open_bulletin(body: BulletinOpen, session: SessionDep, settings: SettingsDep) -> BulletinOpened:
    """Opens the month's bulletin (``month``, or the one before ``at``), once per month."""
    try:
        month = Month.parse(body.month) if body.month else bulletins.month_before(body.at)
    except ValueError as error:
        raise Invalid(("month", str(error))) from error
    bulletins.over(month, local_date(body.at))
    opened = bulletins.open_month(session=session, settings=settings, month=month, actor=SYSTEM)
    return BulletinOpened(case_no=opened.case_no, month=opened.month, version=opened.version)


@router.post("/demonstrations", response_model=DemonstrationOpened)
def open_demonstrations(
    body: DemonstrationOpen, session: SessionDep, settings: SettingsDep
) -> DemonstrationOpened:
    """Opens every branch's demonstration-site list of ``year`` (or of ``at``'s year),
    once per branch and year."""
    year = body.year or local_date(body.at).year
    opened = duties.open_year(session=session, settings=settings, year=year, actor=SYSTEM)
    return DemonstrationOpened(year=year, case_nos=opened)


@router.post("/campaigns", response_model=CampaignsOpened)
def open_campaigns(
    body: CampaignsOpen, session: SessionDep, settings: SettingsDep
) -> CampaignsOpened:
    """Opens the file of every campaign running in ``year`` (or ``at``'s), once each."""
    year = body.year or local_date(body.at).year
    opened = campaigns.open_year(session=session, settings=settings, year=year, actor=SYSTEM)
    return CampaignsOpened(year=year, case_nos=opened)
