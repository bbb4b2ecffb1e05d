"""The special campaigns' routes (专项整治): the campaigns and their progress per branch,
the admin's changes, a report tagged or untagged, and the year's campaigns started by
hand."""

import logging
from datetime import date
from io import BytesIO
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel
from sqlmodel import Session, select
from temporalio.client import Client

from api import process
from api.campaigns import service
from api.campaigns.models import (
    Campaign,
    CampaignCreate,
    CampaignPublic,
    CampaignTagIn,
    CampaignUpdate,
    CampaignYear,
)
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.config import Settings
from api.db import Database, utcnow
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import Invalid, NotAllowed
from api.units.models import Unit
from api.users.models import Role, User
from api.workdays import local_date

log = logging.getLogger("weiquan.campaigns")
router = APIRouter(tags=["campaigns"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CampaignsPublic(BaseModel):
    data: list[CampaignPublic]
    count: int


class CheckpointPublic(BaseModel):
    name: str
    on: date
    final: bool
    results: dict[str, Any]


class CampaignChangePublic(BaseModel):
    at: Any
    by: str
    change: dict[str, Any]


class TaggedPublic(BaseModel):
    case_no: str
    campaign: str | None
    changed: bool


def public(session: Session, campaign: Campaign, branch: str | None) -> CampaignPublic:
    status = None
    if campaign.case_no is not None:
        status = session.exec(select(Case.status).where(Case.case_no == campaign.case_no)).first()
    shown = [p for p in service.behind_now(session, campaign) if branch in (None, p.unit)]
    return CampaignPublic(
        code=campaign.code,
        name=campaign.name,
        categories=list(campaign.categories),
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        counted=campaign.counted,
        quotas={k: int(v) for k, v in campaign.quotas.items() if branch in (None, k)},
        file_no=campaign.case_no,
        status=status,
        version=campaign.version,
        progress=shown,
    )


@router.get("/campaigns", response_model=CampaignsPublic)
def list_campaigns(session: SessionDep, user: CurrentUser) -> CampaignsPublic:
    """Every campaign with each branch's progress today (a branch sees its own)."""
    return _listed(session=session, user=user)


@router.post("/campaigns", response_model=CampaignPublic, status_code=201)
def create_campaign(body: CampaignCreate, session: SessionDep, user: CurrentUser) -> Any:
    """A new campaign (the admin's); its file opens with its year's (``/campaigns/years``)."""
    return public(session, service.create(session=session, user=user, body=body), None)


@router.post("/campaigns/years", response_model=CampaignsPublic, responses={201: {}, 200: {}})
async def start_year(
    body: CampaignYear,
    response: Response,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Any:
    """Opens the file of every campaign running in ``year`` (this one or the last) and
    starts its workflow, as the schedule does each 1 January (201; 200 if all were open;
    a campaign the admin added since is opened now).
    A city supervisor's or the admin's."""
    opened = await open_year(db, temporal, settings, user, body.year)
    response.status_code = 201 if opened else 200
    return await db.run(_listed, user=user)


async def open_year(
    db: Database, temporal: Client, settings: Settings, user: User, year: int
) -> bool:
    """True if a campaign's file was opened now."""
    if not (user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.city_wide)):
        raise NotAllowed("auth.role", "the year's campaigns are started by the city")
    today = local_date(utcnow())
    if not today.year - 1 <= year <= today.year:
        raise Invalid(("year", "this year or the last"), code="campaigns.year")
    before = await db.run(_open_files)
    numbers = await db.run(service.open_year, settings=settings, year=year, actor=user.username)
    # Each file's workflow started here, as the schedule's YearlyCampaigns does; a start
    # Temporal does not confirm is left to the registration repair (the file waits in
    # "registered").
    for case_no in numbers:
        try:
            await process.start_new(
                client=temporal, settings=settings, case_no=case_no, kind=CaseKind.CAMPAIGN
            )
        except process.StartUnconfirmed:
            log.warning("the campaign file %s waits for its workflow", case_no)
    return await db.run(_open_files) > before


def _open_files(*, session: Session) -> int:
    return sum(1 for c in service.listed(session) if c.case_no is not None)


def _listed(*, session: Session, user: User) -> CampaignsPublic:
    branch = service.readable(user)
    found = [public(session, c, branch) for c in service.listed(session)]
    return CampaignsPublic(data=found, count=len(found))


@router.get("/campaigns/{code}", response_model=CampaignPublic, responses={200: {XLSX: {}}})
def get_campaign(
    code: str,
    session: SessionDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> Any:
    """The campaign and each branch's progress today: filed (立案), its quota, the share
    due by now, behind or not, and at the end met or missed. ``?format=xlsx`` the table."""
    branch = service.readable(user)
    found = public(session, service.get(session, code), branch)
    if format == "xlsx":
        names = dict(session.exec(select(Unit.code, Unit.name)).all())
        return workbook(found, names)
    return found


@router.put("/campaigns/{code}", response_model=CampaignPublic)
def update_campaign(code: str, body: CampaignUpdate, session: SessionDep, user: CurrentUser) -> Any:
    """The admin saves the campaign from the ``version`` read (409 ``campaigns.changed``);
    once its file is open its period stays (409 ``campaigns.period_fixed``)."""
    return public(session, service.update(session=session, user=user, code=code, body=body), None)


@router.get("/campaigns/{code}/changes", response_model=list[CampaignChangePublic])
def campaign_changes(code: str, session: SessionDep, user: CurrentUser) -> Any:
    service.readable(user)
    return [
        CampaignChangePublic(at=c.at, by=c.by, change=c.change)
        for c in service.changes(session, code)
    ]


@router.get("/campaigns/{code}/checkpoints", response_model=list[CheckpointPublic])
def campaign_checkpoints(code: str, session: SessionDep, user: CurrentUser) -> Any:
    """What each quarter's end and the end found: each branch's filed, quota, share due."""
    branch = service.readable(user)
    service.get(session, code)
    return [
        CheckpointPublic(
            name=c.name,
            on=c.on,
            final=c.final,
            results={k: v for k, v in c.results.items() if branch in (None, k)},
        )
        for c in service.checkpoints(session, code)
    ]


@router.put("/cases/{case_no}/campaign", response_model=TaggedPublic)
def tag_case(
    case_no: str, body: CampaignTagIn, session: SessionDep, user: CurrentUser
) -> TaggedPublic:
    """Tags the report to a campaign, or untags it (``null``): it counts toward the
    campaign from the later of its filing and its tagging; every tagging is on record."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    changed = service.tag(session=session, user=user, case=case, campaign=body.campaign)
    return TaggedPublic(case_no=case_no, campaign=body.campaign, changed=changed)


def workbook(found: CampaignPublic, names: dict[str, str]) -> Response:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "进度"
    sheet.append([found.name])
    sheet.append([f"{found.starts_on.isoformat()} 至 {found.ends_on.isoformat()}"])
    head = ["单位", "立案数", "目标数", "按进度应达", "进度", "结果"]
    sheet.append(head)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for p in found.progress:
        result = "" if p.met is None else ("完成" if p.met else "未完成")
        sheet.append(
            [
                names.get(p.unit, p.unit),
                p.filed,
                p.quota,
                p.due_by_now,
                "落后" if p.behind else "正常",
                result,
            ]
        )
    out = BytesIO()
    book.save(out)
    name = quote(f"{found.name}进度.xlsx")
    return Response(
        out.getvalue(),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=campaign.xlsx; filename*=UTF-8''{name}"
        },
    )
