"""The bulletin's routes (通报): the published ones for other systems (JSON, XLSX, PDF), and
the city supervisors' drafting: a month started by hand, the draft edited, a correction."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api import process
from api.bulletins import document, figures, service, workbook
from api.bulletins.figures import Month
from api.bulletins.models import Bulletin
from api.config import Settings
from api.db import utcnow
from api.deps import (
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    TemporalClientDep,
    require,
)
from api.errors import Conflict, Invalid, NotFound
from api.users.models import Role, User
from api.workdays import local_date
from workflows.bulletin import MonthlyBulletin, schedule_id
from workflows.messages import BulletinRequest

router = APIRouter(prefix="/bulletins", tags=["bulletins"])

# Every branch's head reads the whole city's bulletin; auditors and admins too. A draft,
# and a month's figures before its bulletin is published, are the city supervisors' only.
READERS = require(Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {workbook.XLSX: {}, "application/pdf": {}},
        "description": "JSON; with ?format=xlsx the spreadsheet, with ?format=pdf the document",
    }
}


class FiguresPublic(BaseModel):
    month: str = Field(description="yyyy-mm")
    from_: str = Field(alias="from", description="its first day, Asia/Shanghai")
    to: str = Field(description="its last day")
    complete: bool = Field(description="false while the month is not over: figures still move")
    min_cases: int = Field(description="the handle deadlines a branch needs to be ranked")
    computed_at: datetime
    branches: list[dict[str, Any]] = Field(
        description="per branch, ranked first: counts, rates, rank (null: 样本不足), and "
        "vs_month_before / vs_year_before (counts' differences, rates' in percentage points)"
    )
    city: dict[str, Any]
    campaigns: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the special campaigns (专项整治) counted toward the targets that run in "
        "the month: each branch's reports filed by its end, its quota, and met once over",
    )


class BulletinPublic(BaseModel):
    file_no: str = Field(description="the bulletin's file: its history is /cases/{file_no}")
    month: str
    version: int
    state: Literal["draft", "published"]
    number: str | None = Field(description="文号, once published")
    dated: date | None
    published_at: datetime | None
    published_by: str | None
    replaces: str | None = Field(description="the file of the version this one corrects")
    reason: str | None = Field(description="why it corrects that one")
    superseded_by: str | None = Field(description="the published version that corrects it")
    sha256: str | None = Field(
        description="SHA-256 of `content` as canonical JSON (keys sorted, separators ',' "
        "and ':', UTF-8, not ASCII-escaped), as the history's bulletin_published event holds"
    )
    content: dict[str, Any] = Field(description="what it says: the figures frozen, ...")


class BulletinsPublic(BaseModel):
    data: list[BulletinPublic]
    count: int


class MonthRequest(BaseModel):
    month: str = Field(description="yyyy-mm, a month that is over")


class CorrectionRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="what the correction fixes")


def requested(text: str, where: str = "path") -> Month:
    try:
        return Month.requested(text, local_date(utcnow()))
    except ValueError as error:
        raise Invalid(("month", str(error)), where=where) from error


def public(session: Session, bulletin: Bulletin) -> BulletinPublic:
    later = service.superseded_by(session=session, bulletin=bulletin)
    return BulletinPublic(
        file_no=bulletin.case_no,
        month=bulletin.month,
        version=bulletin.version,
        state="published" if bulletin.published_at else "draft",
        number=bulletin.number,
        dated=date.fromisoformat(bulletin.dated) if bulletin.dated else None,
        published_at=bulletin.published_at,
        published_by=bulletin.published_by,
        replaces=bulletin.replaces,
        reason=bulletin.reason,
        superseded_by=later.case_no if later else None,
        sha256=bulletin.sha256,
        content=service.content(bulletin),
    )


def download(settings: Settings, bulletin: Bulletin, format: str) -> Response:
    """A version as the spreadsheet or the document, from what it froze."""
    month = Month.parse(bulletin.month)
    if format == "xlsx":
        return workbook.download(month, bulletin.figures, service.lines(bulletin))
    return document.pdf_download(
        settings,
        month,
        bulletin.figures,
        bulletin.criticisms,
        paragraphs=bulletin.foreword,
        number=bulletin.number,
        dated=date.fromisoformat(bulletin.dated) if bulletin.dated else None,
        version=bulletin.version,
    )


def find(session: Session, user: User, month: Month, version: int | None) -> Bulletin:
    """The version asked for, or the month's latest published one."""
    versions = service.of_month(session=session, month=month)
    if version is not None:
        found = next((b for b in versions if b.version == version), None)
        if found is None:
            raise NotFound("bulletin.not_found", f"{month} has no version {version}")
        return service.readable(user, found)
    published = [b for b in versions if b.published_at is not None]
    if not published:
        raise NotFound("bulletin.not_published", f"the bulletin of {month} is not published")
    return published[-1]


@router.get("", response_model=BulletinsPublic, dependencies=[READERS])
def list_bulletins(session: SessionDep, user: CurrentUser) -> BulletinsPublic:
    """Every published version, newest month first; the drafts too, for city supervisors."""
    found = service.listed(session=session, drafts=service.city_supervisor(user))
    return BulletinsPublic(data=[public(session, b) for b in found], count=len(found))


@router.post("", response_model=BulletinPublic, responses={201: {}, 200: {}})
async def start_bulletin(
    body: MonthRequest,
    response: Response,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> BulletinPublic:
    """Starts the bulletin of a past month by hand, as the schedule does on the 1st (201);
    a month that has one already answers it (200). The month's ``MonthlyBulletin`` workflow
    drafts it and sends the review task to the city supervisors."""
    service.ensure_city_supervisor(user)
    month = service.over(requested(body.month, "body"), local_date(utcnow()))
    existed = await db.run(_version_exists, month=month, version=1)
    opened = await db.run(service.open_month, settings=settings, month=month, actor=user.username)
    await start_monthly(temporal, settings, month)
    response.status_code = 200 if existed else 201
    return await db.run(_public_of, case_no=opened.case_no)


async def start_monthly(client: Client, settings: Settings, month: Month) -> None:
    """Starts the month's ``MonthlyBulletin`` by hand (one run per month at a time). The
    bulletin is opened already: if Temporal fails here, the file left ``registered`` has
    its workflow started by the registration repair."""
    await client.start_workflow(
        MonthlyBulletin.run,
        BulletinRequest(month=str(month)),
        id=f"{schedule_id(settings.case_no_prefix)}-{month}",
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def _version_exists(*, session: Session, month: Month, version: int) -> bool:
    return service.of_version(session=session, month=month, version=version) is not None


def _public_of(*, session: Session, case_no: str) -> BulletinPublic:
    return public(session, service.of_case(session=session, case_no=case_no))


@router.get(
    "/{month}",
    response_model=BulletinPublic,
    dependencies=[READERS],
    responses=FORMATS,
)
def get_bulletin(
    month: str,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    version: Annotated[int | None, Query(ge=1)] = None,
    format: Annotated[Literal["json", "xlsx", "pdf"], Query()] = "json",
) -> Any:
    """The month's bulletin as published (its latest version, or ``?version=``): its
    number, its hash and what it says. ``?format=xlsx`` the spreadsheet, ``?format=pdf``
    the document. A draft is the city supervisors' only."""
    found = find(session, user, requested(month), version)
    if format != "json":
        return download(settings, found, format)
    return public(session, found)


@router.put("/{month}/draft", response_model=BulletinPublic)
def edit_draft(
    month: str, body: service.DraftIn, session: SessionDep, user: CurrentUser
) -> BulletinPublic:
    """Saves the draft's foreword and criticisms (通报批评): each names a branch and why, and
    at most a complaint by its number (a report is never named). Published: 409."""
    service.ensure_city_supervisor(user)
    draft = open_draft(session, requested(month))
    return public(
        session, service.edit(session=session, bulletin=draft, body=body, actor=user.username)
    )


def open_draft(session: Session, month: Month) -> Bulletin:
    """The month's draft, the one being reviewed (404 none, 409 published)."""
    versions = service.of_month(session=session, month=month)
    if not versions:
        raise NotFound("bulletin.not_found", f"no bulletin of {month}")
    latest = versions[-1]
    if latest.published_at is not None:
        raise Conflict("bulletin.published", f"the bulletin of {month} is published")
    return latest


@router.post("/{month}/corrections", response_model=BulletinPublic, status_code=201)
async def correct(
    month: str,
    body: CorrectionRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> BulletinPublic:
    """A correction (更正): a new version of the month, its figures computed afresh,
    citing the version it replaces; both stay readable. Its draft goes to review as the
    first did."""
    service.ensure_city_supervisor(user)
    opened = await db.run(
        service.open_correction,
        settings=settings,
        month=requested(month),
        reason=body.reason,
        actor=user.username,
    )
    await process.ensure_started(
        client=temporal, settings=settings, case_no=opened.case_no, kind="bulletin"
    )
    return await db.run(_public_of, case_no=opened.case_no)


@router.get(
    "/{month}/figures",
    response_model=FiguresPublic,
    response_model_by_alias=True,
    responses={
        200: {
            "content": {workbook.XLSX: {}, "application/pdf": {}},
            "description": "JSON; with ?format=xlsx the spreadsheet, with ?format=pdf the "
            "document, marked a draft",
        }
    },
)
def get_figures(
    month: str,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "xlsx", "pdf"], Query()] = "json",
) -> Any:
    """A month's figures as ``docs/bulletin.md`` defines them, computed now from the
    records (a month not over says so): what a draft would hold, for the city
    supervisors. ``?format=xlsx`` the spreadsheet, ``?format=pdf`` the document as a
    draft."""
    service.ensure_city_supervisor(user)
    wanted = requested(month)
    found = figures.compute(session, wanted, min_cases=settings.bulletin_min_cases)
    if format == "xlsx":
        return workbook.download(wanted, found, figures.branch_cases(session, wanted))
    if format == "pdf":
        return document.pdf_download(settings, wanted, found, service.prefilled(session, wanted))
    return FiguresPublic.model_validate(
        {**found, "complete": wanted.last < local_date(utcnow()), "computed_at": utcnow()}
    )
