"""The station network's routes: the divisions, the registry (名录) and its coverage."""

import logging
from datetime import date, datetime
from io import BytesIO
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api import process
from api.casefile.lifecycle import CaseKind
from api.config import Settings
from api.db import Database, utcnow
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, TemporalClientDep
from api.stations import divisions, duties, service
from api.stations.models import (
    AssessmentIn,
    AssessmentPublic,
    DemonstrationList,
    DemonstrationPublic,
    DemonstrationStart,
    Division,
    DivisionAction,
    DivisionCreate,
    DivisionLevel,
    DivisionRetire,
    DivisionUpdate,
    RectificationPublic,
    StationChangePublic,
    StationClose,
    StationCreate,
    StationPublic,
    StationsPublic,
    StationUpdate,
)
from api.users.models import User
from api.workdays import local_date
from workflows.duty import YearlyDemonstrations, schedule_id
from workflows.messages import DemonstrationRequest

log = logging.getLogger("weiquan.stations")
router = APIRouter(tags=["stations"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPE_NAMES = {"association": "消协分会", "liaison": "12315联络站", "service": "消费维权服务站"}
HOST_NAMES = {
    "supermarket": "超市",
    "mall": "商场",
    "market": "市场",
    "enterprise": "企业",
    "scenic": "景区",
}


class DivisionPublic(BaseModel):
    code: str
    level: DivisionLevel
    name: str
    county_code: str
    township_code: str | None
    branch: str | None
    retired_on: date | None = None
    merged_into: str | None = None


class DivisionsPublic(BaseModel):
    data: list[DivisionPublic]
    count: int


@router.get("/divisions", response_model=DivisionsPublic)
def list_divisions(
    session: SessionDep,
    user: CurrentUser,
    branch: str | None = None,
    level: DivisionLevel | None = None,
    township: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    include_retired: bool = False,
) -> DivisionsPublic:
    """The city's counties, townships and communities and villages, with their statistical
    codes and the branch that covers each (``include_retired``: and those merged away)."""
    seen = service.readable_branch(user, branch)
    found = divisions.divisions(
        session=session,
        branch=seen,
        level=level,
        township=township,
        include_retired=include_retired,
    )
    return DivisionsPublic(
        data=[DivisionPublic.model_validate(d, from_attributes=True) for d in found],
        count=len(found),
    )


class DivisionChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    division: str
    action: DivisionAction
    at: datetime
    by: str
    change: dict[str, Any]


def _division(session: Session, code: str) -> DivisionPublic:
    return DivisionPublic.model_validate(session.get(Division, code), from_attributes=True)


@router.post("/divisions", response_model=DivisionPublic, status_code=201)
def add_division(body: DivisionCreate, session: SessionDep, user: CurrentUser) -> DivisionPublic:
    """Adds a community or village to a township (the admin's), covered by the township's
    branch: 409 ``stations.division_exists`` for a code in the list, 422 for a code that
    does not begin with the township's."""
    divisions.add(session=session, user=user, body=body)
    return _division(session, body.code)


@router.put("/divisions/{code}", response_model=DivisionPublic)
def edit_division(
    code: str, body: DivisionUpdate, session: SessionDep, user: CurrentUser
) -> DivisionPublic:
    """Renames a division, or gives a township to a branch (the admin's): its villages and
    its open stations go with it, and coverage counts them there from now on. A branch for
    a county or a village is 422 (a village follows its township), a unit that is not a
    branch 422 ``branch``."""
    divisions.edit(session=session, user=user, code=code, body=body)
    return _division(session, code)


@router.post("/divisions/{code}/retire", response_model=DivisionPublic)
def retire_division(
    code: str, body: DivisionRetire, session: SessionDep, user: CurrentUser
) -> DivisionPublic:
    """Retires a community or village merged away (撤并): no longer covered nor a gap, its
    record kept. 409 ``stations.division_in_use`` while a station is open there."""
    divisions.retire(session=session, user=user, code=code, body=body)
    return _division(session, code)


@router.get("/divisions/changes", response_model=list[DivisionChangePublic])
def list_division_changes(
    session: SessionDep,
    user: CurrentUser,
    township: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
) -> Any:
    """Every change the admin made to the divisions, the latest first."""
    service.readable_branch(user, None)
    return divisions.changes(session, township=township)


@router.get("/stations", response_model=StationsPublic)
def list_stations(
    session: SessionDep,
    user: CurrentUser,
    branch: str | None = None,
    include_closed: bool = False,
) -> StationsPublic:
    """The registry: every station open (``include_closed``: and those closed), by branch."""
    found = service.listed(session=session, user=user, branch=branch, open_only=not include_closed)
    return StationsPublic(data=service.publics(session, found), count=len(found))


@router.post("/stations", response_model=StationPublic, status_code=201)
def create_station(body: StationCreate, session: SessionDep, user: CurrentUser) -> StationPublic:
    """Opens a station in the registry (409 ``stations.taken`` for a code in use)."""
    return service.public(session, service.create(session=session, user=user, body=body))


@router.get("/stations/coverage", responses={200: {"content": {XLSX: {}}}})
def get_coverage(
    session: SessionDep,
    user: CurrentUser,
    branch: str | None = None,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> Any:
    """Each branch's coverage by the stations open: its communities and villages with their
    一会两站 in full (a 消协分会 in the township, a 12315联络站 and a 消费维权服务站 in the
    village), the gaps and what each lacks, and its 12315 五进 stations per host type."""
    found = service.coverage(session=session, user=user, branch=branch)
    if format == "xlsx":
        return coverage_xlsx(found)
    return {
        "data": [
            {
                "branch": c.branch,
                "name": c.name,
                "villages": c.villages,
                "covered": c.covered,
                "rate": c.rate,
                "gaps": [g.__dict__ for g in c.gaps],
                "five_in": {h: c.five_in.get(h, 0) for h in HOST_NAMES},
                "five_in_missing": c.five_in_missing,
                "disputes": c.disputes,
                "reconciled": c.reconciled,
            }
            for c in found
        ]
    }


def coverage_xlsx(found: list[service.BranchCoverage]) -> Response:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "覆盖率"
    sheet.append(
        ["单位", "村（社区）数", "一会两站齐全", "覆盖率"]
        + [f"五进{n}" for n in HOST_NAMES.values()]
    )
    for c in found:
        sheet.append(
            [c.name, c.villages, c.covered, c.rate] + [c.five_in.get(h, 0) for h in HOST_NAMES]
        )
        sheet.cell(row=sheet.max_row, column=4).number_format = "0.00%"
    gaps = book.create_sheet("空白点")
    gaps.append(["单位", "乡镇（街道）", "村（社区）", "代码", "缺少"])
    for c in found:
        for g in c.gaps:
            gaps.append(
                [c.name, g.township, g.name, g.code, "、".join(TYPE_NAMES[k] for k in g.lacks)]
            )
    for each in (sheet, gaps):
        for cell in each[1]:
            cell.font = Font(bold=True)
        each.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    name = quote("站点覆盖率.xlsx")
    return Response(
        out.getvalue(),
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=coverage.xlsx; filename*=UTF-8''{name}"
        },
    )


@router.get("/stations/assessments", response_model=list[AssessmentPublic])
def list_assessments(
    session: SessionDep,
    user: CurrentUser,
    year: Annotated[int, Query(ge=2000, le=2999)],
    branch: str | None = None,
) -> Any:
    """Each open station's latest assessment of the year; ``passed`` false: to be
    rectified (整改)."""
    found = service.latest_assessments(session=session, user=user, year=year, branch=branch)
    return [AssessmentPublic.model_validate(a, from_attributes=True) for a in found.values()]


# --- the duties: demonstration sites (示范点), rectification (整改) ----------------------------


def demonstration_public(listed: DemonstrationList, duty: duties.Duty) -> DemonstrationPublic:
    return DemonstrationPublic(
        file_no=listed.case_no,
        year=listed.year,
        branch=listed.branch,
        status=duty.case.status,
        sites=dict(listed.sites),
        due_date=duty.due_date,
        overdue=duty.overdue,
        submitted_at=listed.submitted_at,
        submitted_by=listed.submitted_by,
        returned=listed.returned,
        approved_at=listed.approved_at,
        approved_by=listed.approved_by,
    )


def _demonstrations(
    *, session: Session, user: User, year: int, branch: str | None
) -> list[DemonstrationPublic]:
    branch = service.readable_branch(user, branch)
    return [
        demonstration_public(listed, duty)
        for listed, duty in duties.demonstrations(session=session, year=year, branch=branch)
    ]


@router.get("/stations/demonstrations", response_model=list[DemonstrationPublic])
def list_demonstrations(
    session: SessionDep,
    user: CurrentUser,
    year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
    branch: str | None = None,
) -> Any:
    """Each branch's demonstration-site list of the year (this year by default): its
    status, the sites named (host type → station), its deadline, and the city's decision."""
    return _demonstrations(
        session=session, user=user, year=year or local_date(utcnow()).year, branch=branch
    )


@router.post(
    "/stations/demonstrations",
    response_model=list[DemonstrationPublic],
    responses={201: {}, 200: {}},
)
async def start_demonstrations(
    body: DemonstrationStart,
    response: Response,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Any:
    """Gives every branch its list of this year by hand, as the schedule does each January
    (201); a year given already is answered as it is (200). A city supervisor's."""
    existed = await start_year(db, temporal, settings, user, body.year)
    response.status_code = 200 if existed else 201
    return await db.run(_demonstrations, user=user, year=body.year, branch=None)


async def start_year(
    db: Database, temporal: Client, settings: Settings, user: User, year: int
) -> bool:
    """Opens every branch's list of ``year`` and starts ``YearlyDemonstrations`` for it,
    as the schedule does each January; True if the year had its lists already."""
    duties.city_supervisor(user)
    year = duties.requested_year(year, local_date(utcnow()))
    existed = await db.run(_demonstrations, user=user, year=year, branch=None)
    await db.run(duties.open_year, settings=settings, year=year, actor=user.username)
    await temporal.start_workflow(
        YearlyDemonstrations.run,
        DemonstrationRequest(year=year),
        id=f"{schedule_id(settings.case_no_prefix)}-{year}",
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return bool(existed)


@router.get("/stations/{code}", response_model=StationPublic)
def get_station(code: str, session: SessionDep, user: CurrentUser) -> StationPublic:
    return service.public(session, service.get(session=session, user=user, code=code))


@router.put("/stations/{code}", response_model=StationPublic)
def update_station(
    code: str, body: StationUpdate, session: SessionDep, user: CurrentUser
) -> StationPublic:
    """Saves the station from the ``version`` read (409 ``stations.changed`` if another
    saved it meanwhile, ``stations.closed`` once closed)."""
    return service.public(session, service.update(session=session, user=user, code=code, body=body))


@router.post("/stations/{code}/close", response_model=StationPublic)
def close_station(
    code: str, body: StationClose, session: SessionDep, user: CurrentUser
) -> StationPublic:
    """Closes the station: it leaves the coverage; its record and history stay."""
    return service.public(session, service.close(session=session, user=user, code=code, body=body))


@router.get("/stations/{code}/changes", response_model=list[StationChangePublic])
def station_changes(code: str, session: SessionDep, user: CurrentUser) -> Any:
    """Every change to the station: opened, edited (before → after), closed; who and when."""
    return [
        StationChangePublic(at=c.at, by=c.by, change=c.change)
        for c in service.changes(session=session, user=user, code=code)
    ]


@router.post("/stations/{code}/assessments", response_model=AssessmentPublic, status_code=201)
async def assess_station(
    code: str,
    body: AssessmentIn,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Any:
    """Records a standardisation assessment (标准化考核评价) against the city's checklist:
    every item scored within its points; passed when the total reaches the pass mark.
    Below it, the branch is given the station's rectification (整改) with its deadline,
    unless one is open already (``rectification`` names its file)."""
    return await assess(db, temporal, settings, user, code, body)


async def assess(
    db: Database, temporal: Client, settings: Settings, user: User, code: str, body: AssessmentIn
) -> AssessmentPublic:
    """Records the assessment, and starts the workflow of the rectification it opened."""
    checklist = await db.run(service.checklist_of, settings=settings)
    done, rectification = await db.run(
        service.assess, settings=settings, user=user, code=code, body=body, checklist=checklist
    )
    if rectification is not None:
        # Temporal away: the file waits in "registered" for the registration repair.
        try:
            await process.start_new(
                client=temporal,
                settings=settings,
                case_no=rectification,
                kind=CaseKind.RECTIFICATION,
            )
        except process.StartUnconfirmed:
            log.warning("the rectification %s waits for its workflow", rectification)
    out = AssessmentPublic.model_validate(done, from_attributes=True)
    out.rectification = rectification
    return out


def _rectifications(*, session: Session, user: User, code: str) -> list[RectificationPublic]:
    service.get(session=session, user=user, code=code)
    return [
        RectificationPublic(
            file_no=r.case_no,
            station=r.station,
            year=r.year,
            status=duty.case.status,
            opened_at=r.opened_at,
            due_date=duty.due_date,
            overdue=duty.overdue,
            summary=r.summary,
            done_on=r.done_on,
            done_by=r.done_by,
        )
        for r, duty in duties.rectifications(session=session, station=code)
    ]


@router.get("/stations/{code}/rectifications", response_model=list[RectificationPublic])
def station_rectifications(code: str, session: SessionDep, user: CurrentUser) -> Any:
    """The station's rectifications (整改): open with their deadline, or done."""
    return _rectifications(session=session, user=user, code=code)


@router.get("/stations/{code}/assessments", response_model=list[AssessmentPublic])
def station_assessments(code: str, session: SessionDep, user: CurrentUser) -> Any:
    return [
        AssessmentPublic.model_validate(a, from_attributes=True)
        for a in service.assessments(session=session, user=user, code=code)
    ]
