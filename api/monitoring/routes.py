"""Quality monitoring's routes (商品质量监测): the year's plan with its progress and
failure rates, the batches and their samples (one by one, or an XLSX imported whole or
not at all), the clean-ups and their delistings, a report from a failed sample, and the
published batches (信息公开: also without signing in)."""

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from pydantic import BaseModel
from sqlmodel import Session, select
from temporalio.client import Client

from api import process
from api.casefile.lifecycle import CaseKind
from api.config import Settings
from api.deps import (
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    StepEngineDep,
    TemporalClientDep,
)
from api.errors import ApiError, Invalid
from api.monitoring import service, sheets
from api.monitoring.models import (
    BatchCreate,
    BatchPublic,
    CleanUpPublic,
    DelistingPublic,
    MonitoringPlan,
    PlanCreate,
    PlanPublic,
    PlanUpdate,
    Sample,
    SampleIn,
    SamplePublic,
    SamplingBatch,
)
from api.stations.duties import duties_of
from api.units.models import Unit, UnitKind
from api.users.models import User

log = logging.getLogger("weiquan.monitoring")
router = APIRouter(tags=["monitoring"])
disclosure_router = APIRouter(tags=["disclosure"])
PREFIX = "/monitoring"
Year = Annotated[int, Path(ge=2000, le=2999)]
YearQuery = Annotated[int | None, Query(ge=2000, le=2999)]
CleanUpId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class Named(BaseModel):
    code: str
    name: str


class CataloguePublic(BaseModel):
    commodities: list[Named]
    areas: list[Named]
    threshold: float
    minimum_samples: int


class PlansPublic(BaseModel):
    data: list[PlanPublic]
    count: int


class BatchesPublic(BaseModel):
    data: list[BatchPublic]
    count: int


class BatchDetail(BatchPublic):
    published_by: str | None
    sample_list: list[SamplePublic]


class Entered(BaseModel):
    sample: SamplePublic
    delistings: list[str]  # the delistings (退市) it opened: their file numbers


class Imported(BaseModel):
    import_id: int
    rows: int
    delistings: list[str]


class ReportOpened(BaseModel):
    sample_no: str
    case_no: str
    opened: bool


class ChangePublic(BaseModel):
    at: datetime
    by: str
    change: dict[str, Any]


class DisclosedSample(BaseModel):
    commodity: str
    product: str
    brand: str | None
    model: str | None
    lot: str | None
    outlet: str
    business: str
    credit_code: str
    outlet_address: str | None
    unit: str
    sampled_on: Any
    tested_by: str
    failed_items: list[str]


class Disclosed(BaseModel):
    code: str
    name: str
    published_at: datetime
    samples: int  # tested in the batch
    failed: list[DisclosedSample]


def catalogue_of(*, session: Session, settings: Settings) -> service.Catalogue:
    """The catalogue in force: the admin's last save, else ``config/monitoring.json``."""
    return service.catalogue_of(session=session, settings=settings)


def unit_names(session: Session) -> dict[str, str]:
    return dict(
        session.exec(select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH)).all()
    )


def plan_public(
    session: Session, plan: MonitoringPlan, catalogue: service.Catalogue, branch: str | None
) -> PlanPublic:
    return PlanPublic(
        year=plan.year,
        targets=service.targets_of(plan),
        threshold=plan.threshold,
        minimum_samples=plan.minimum_samples,
        version=plan.version,
        progress=service.progress(session, plan, branch),
        rates=service.rates(session, plan, catalogue),
    )


def sample_public(sample: Sample, batch: str) -> SamplePublic:
    return SamplePublic.model_validate({**sample.model_dump(), "batch": batch})


def batch_public(session: Session, batch: SamplingBatch, branch: str | None) -> BatchPublic:
    found = service.samples(session, batch=batch, branch=branch)
    return BatchPublic(
        code=batch.code,
        year=batch.year,
        name=batch.name,
        created_by=batch.created_by,
        published_at=batch.published_at,
        samples=len(found),
        failed=sum(1 for s in found if not s.passed),
    )


async def start_files(temporal: Client, settings: Settings, numbers: list[str]) -> None:
    """Starts each delisting's workflow; one Temporal does not confirm waits in
    "registered" for the registration repair."""
    for case_no in numbers:
        try:
            await process.start_new(
                client=temporal, settings=settings, case_no=case_no, kind=CaseKind.DELISTING
            )
        except process.StartUnconfirmed:
            log.warning("the delisting %s waits for its workflow", case_no)


# --- the catalogue and the plans -----------------------------------------------------------


@router.get(f"{PREFIX}/catalogue", response_model=CataloguePublic)
def get_catalogue(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> CataloguePublic:
    """The commodities and kinds of area a plan may name, and a new plan's defaults."""
    service.readable(user)
    found = catalogue_of(session=session, settings=settings)
    return CataloguePublic(
        commodities=[Named(code=k, name=v) for k, v in found.commodities.items()],
        areas=[Named(code=k, name=v) for k, v in found.areas.items()],
        threshold=found.threshold,
        minimum_samples=found.minimum_samples,
    )


@router.get(f"{PREFIX}/plans", response_model=PlansPublic)
def list_plans(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> PlansPublic:
    branch = service.readable(user)
    catalogue = catalogue_of(session=session, settings=settings)
    found = [plan_public(session, p, catalogue, branch) for p in service.plans(session)]
    return PlansPublic(data=found, count=len(found))


@router.post(f"{PREFIX}/plans", response_model=PlanPublic, status_code=201)
def create_plan(
    body: PlanCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> PlanPublic:
    """The year's plan (the city's): the samples targeted per commodity and kind of area;
    ``threshold`` and ``minimum_samples`` default to the catalogue's."""
    catalogue = catalogue_of(session=session, settings=settings)
    made = service.create_plan(session=session, user=user, body=body, catalogue=catalogue)
    return plan_public(session, made, catalogue, None)


@router.get(f"{PREFIX}/plans/{{year}}", response_model=PlanPublic)
def get_plan(year: Year, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    """The plan, each target's samples tested so far (a branch: its own), and each
    commodity's failure rate over the year against the threshold."""
    branch = service.readable(user)
    return plan_public(
        session,
        service.plan_of(session, year),
        catalogue_of(session=session, settings=settings),
        branch,
    )


@router.put(f"{PREFIX}/plans/{{year}}", response_model=PlanPublic)
async def update_plan(
    year: Year,
    body: PlanUpdate,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Any:
    """Saves the plan from the ``version`` read (409 ``monitoring.changed``); a commodity
    the new threshold puts over it is cleaned up now."""
    catalogue = await db.run(catalogue_of, settings=settings)
    plan, opened = await db.run(
        service.update_plan,
        settings=settings,
        user=user,
        year=year,
        body=body,
        catalogue=catalogue,
    )
    await start_files(temporal, settings, opened)
    return await db.run(_plan_public, year=year, catalogue=catalogue)


def _plan_public(*, session: Session, year: int, catalogue: service.Catalogue) -> PlanPublic:
    return plan_public(session, service.plan_of(session, year), catalogue, None)


@router.get(f"{PREFIX}/plans/{{year}}/changes", response_model=list[ChangePublic])
def plan_changes(year: Year, session: SessionDep, user: CurrentUser) -> Any:
    service.readable(user)
    service.plan_of(session, year)
    return [
        ChangePublic(at=c.at, by=c.by, change=c.change)
        for c in service.changes(session, f"plan:{year}")
    ]


# --- batches and samples -------------------------------------------------------------------


@router.get(f"{PREFIX}/batches", response_model=BatchesPublic)
def list_batches(session: SessionDep, user: CurrentUser, year: YearQuery = None) -> Any:
    branch = service.readable(user)
    found = [batch_public(session, b, branch) for b in service.batches(session, year)]
    return BatchesPublic(data=found, count=len(found))


@router.post(f"{PREFIX}/batches", response_model=BatchPublic, status_code=201)
def create_batch(body: BatchCreate, session: SessionDep, user: CurrentUser) -> Any:
    """A sampling batch of a year with a plan (the city's)."""
    return batch_public(session, service.create_batch(session=session, user=user, body=body), None)


def batch_detail(session: Session, user: User, code: str) -> BatchDetail:
    branch = service.readable(user)
    batch = service.batch_of(session, code)
    found = service.samples(session, batch=batch, branch=branch)
    return BatchDetail(
        **batch_public(session, batch, branch).model_dump(),
        published_by=batch.published_by,
        sample_list=[sample_public(s, code) for s in found],
    )


@router.get(f"{PREFIX}/batches/{{code}}", response_model=BatchDetail)
def get_batch(code: str, session: SessionDep, user: CurrentUser) -> Any:
    """The batch and its samples (a branch: its own)."""
    return batch_detail(session, user, code)


@router.post(f"{PREFIX}/batches/{{code}}/samples", response_model=Entered, status_code=201)
async def enter_sample(
    code: str,
    body: SampleIn,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Entered:
    """One sample's result (a branch: of its own area). A commodity it puts over the
    plan's threshold is cleaned up (专项清查); each failed sample of a commodity being
    cleaned up gives its outlet's branch a delisting (``delistings``)."""
    made, opened = await db.run(
        service.enter,
        settings=settings,
        user=user,
        code=code,
        body=body,
        catalogue=await db.run(catalogue_of, settings=settings),
    )
    await start_files(temporal, settings, opened)
    return Entered(sample=sample_public(made, code), delistings=opened)


@router.post(
    f"{PREFIX}/batches/{{code}}/imports",
    response_model=Imported,
    status_code=201,
    responses={400: {"description": "the multipart body cannot be read"}},
)
async def import_samples(
    code: str,
    file: Annotated[UploadFile, File(description="an .xlsx laid out as the import template")],
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Imported:
    """Imports an XLSX of results (the layout of ``/monitoring/import-template``), all or
    nothing: every bad row is named with its line and field (422
    ``monitoring.rows_invalid``), and then no row of the file is kept."""
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise Invalid(("file", "larger than 10 MB"), code="monitoring.too_many_rows")
    made, opened = await db.run(
        import_file,
        settings=settings,
        user=user,
        code=code,
        filename=file.filename or "",
        content=content,
    )
    await start_files(temporal, settings, opened)
    return Imported(import_id=made.id or 0, rows=made.rows, delistings=opened)


MAX_BYTES = 10 * 1024 * 1024


def import_file(
    *, session: Session, settings: Settings, user: User, code: str, filename: str, content: bytes
) -> Any:
    service.may_enter(user)
    catalogue = catalogue_of(session=session, settings=settings)
    service.batch_of(session, code)  # 404 before reading the file
    rows, header = sheets.read(
        content, catalogue, unit_names(session), settings.monitoring_import_max_rows
    )
    return service.import_rows(
        session=session,
        settings=settings,
        user=user,
        code=code,
        filename=filename,
        rows=rows,
        catalogue=catalogue,
        header_errors=header,
    )


@router.post(f"{PREFIX}/batches/{{code}}/publish", response_model=BatchPublic)
def publish_batch(code: str, session: SessionDep, user: CurrentUser) -> Any:
    """Publishes the batch's failed commodities and outlets (信息公开), once (the city's);
    a published batch takes no more samples."""
    batch, _ = service.publish(session=session, user=user, code=code)
    return batch_public(session, batch, None)


@router.get(
    f"{PREFIX}/import-template", response_class=Response, responses={200: {sheets.XLSX: {}}}
)
def import_template(user: CurrentUser) -> Response:
    """The XLSX an import is laid out as: one row per sample under these headers."""
    service.readable(user)
    return sheets.attachment(sheets.template(), "检验结果导入模板.xlsx", "template.xlsx")


@router.get(f"{PREFIX}/samples/{{sample_no}}", response_model=SamplePublic)
def get_sample(sample_no: str, session: SessionDep, user: CurrentUser) -> Any:
    found = service.sample_of(session, user, sample_no)
    batch = session.get(SamplingBatch, found.batch_id)
    return sample_public(found, batch.code if batch else "")


@router.post(
    f"{PREFIX}/samples/{{sample_no}}/report",
    response_model=ReportOpened,
    status_code=201,
    responses={200: {}},
)
async def report_sample(
    sample_no: str,
    response: Response,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
    steps: StepEngineDep,
) -> ReportOpened:
    """Opens a report (举报, ex officio) against the failed sample's outlet, linked to the
    sample, for the centre to accept and file (立案); sent again, the one opened first
    (200)."""
    case_no, status, opened = await db.run(
        service.open_report,
        settings=settings,
        user=user,
        sample_no=sample_no,
        catalogue=await db.run(catalogue_of, settings=settings),
    )
    if not opened:
        response.status_code = 200
    if status == "registered":
        try:
            started = await process.start_new(
                client=temporal, settings=settings, case_no=case_no, kind=CaseKind.REPORT
            )
        except process.StartUnconfirmed as error:
            raise ApiError(
                503,
                "case.start_unconfirmed",
                f"report {case_no} is registered, but the workflow service did not "
                "confirm its process; send the same request again",
            ) from error
        if not started:
            await db.run(service.unlink_report, sample_no=sample_no, case_no=case_no)
            await db.run(steps.discard, case_no=case_no)
            raise ApiError(
                503, "service.unavailable", "the workflow service (Temporal) is not reachable"
            )
    return ReportOpened(sample_no=sample_no, case_no=case_no, opened=opened)


# --- clean-ups -----------------------------------------------------------------------------


@router.get(f"{PREFIX}/cleanups", response_model=list[CleanUpPublic])
def list_cleanups(session: SessionDep, user: CurrentUser, year: YearQuery = None) -> Any:
    """The clean-ups (专项清查) and their delistings (a branch: its own), each with its
    file's status and deadline, and the quantity removed once done."""
    branch = service.readable(user)
    return cleanups_public(session, service.cleanups(session, year), branch)


@router.get(f"{PREFIX}/cleanups/{{cleanup_id}}", response_model=CleanUpPublic)
def get_cleanup(cleanup_id: CleanUpId, session: SessionDep, user: CurrentUser) -> Any:
    branch = service.readable(user)
    return cleanups_public(session, [service.cleanup_of(session, cleanup_id)], branch)[0]


def cleanups_public(session: Session, found: list[Any], branch: str | None) -> list[CleanUpPublic]:
    ids = [c.id for c in found]
    rows = service.delistings(session, ids, branch)
    duties = duties_of(session, [d.case_no for d, _, _ in rows])
    out = []
    for c in found:
        mine = [(d, s, case) for d, s, case in rows if d.cleanup_id == c.id]
        every = service.delistings(session, [c.id], None) if branch is not None else mine
        out.append(
            CleanUpPublic(
                id=c.id,
                year=c.year,
                commodity=c.commodity,
                tested=c.tested,
                failed=c.failed,
                threshold=c.threshold,
                opened_at=c.opened_at,
                done=all(d.done_at is not None for d, _, _ in every),
                delistings=[
                    DelistingPublic(
                        case_no=d.case_no,
                        sample_no=s.sample_no,
                        unit=d.unit,
                        outlet=s.outlet,
                        business=s.business,
                        lot=s.lot,
                        status=case.status,
                        due_date=duties[d.case_no].due_date if d.case_no in duties else None,
                        overdue=duties[d.case_no].overdue if d.case_no in duties else False,
                        quantity=d.quantity,
                        done_on=d.done_on,
                    )
                    for d, s, case in mine
                ],
            )
        )
    return out


# --- disclosure (信息公开): read without signing in ----------------------------------------


def disclosed(session: Session, code: str) -> Disclosed:
    batch, failed = service.disclosed(session, code)
    tested = len(service.samples(session, batch=batch, branch=None))
    assert batch.published_at is not None
    return Disclosed(
        code=batch.code,
        name=batch.name,
        published_at=batch.published_at,
        samples=tested,
        failed=[DisclosedSample.model_validate(s, from_attributes=True) for s in failed],
    )


class DisclosedBatch(BaseModel):
    code: str
    name: str
    published_at: datetime


@disclosure_router.get("/disclosure/monitoring", response_model=list[DisclosedBatch])
def published_batches(session: SessionDep) -> Any:
    """The published sampling batches, newest first. Public: no sign-in."""
    return [
        DisclosedBatch(code=b.code, name=b.name, published_at=b.published_at)
        for b in service.published(session)
        if b.published_at is not None
    ]


@disclosure_router.get(
    "/disclosure/monitoring/{code}", response_model=Disclosed, responses={200: {sheets.XLSX: {}}}
)
def published_batch(
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> Any:
    """A published batch's failed commodities and the outlets that sold them (信息公开);
    ``?format=xlsx`` the list. Public: no sign-in; a batch not published is not found."""
    if format == "xlsx":
        batch, failed = service.disclosed(session, code)
        content = sheets.disclosure(
            batch, failed, catalogue_of(session=session, settings=settings), unit_names(session)
        )
        return sheets.attachment(content, f"{batch.name}不合格商品名单.xlsx", "disclosure.xlsx")
    return disclosed(session, code)
