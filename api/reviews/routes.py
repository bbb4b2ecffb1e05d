"""Sector reviews' routes (社会评议): the sectors and their review points, the reviews (the
city's), the sector's complaints a finding may come from, the findings with their
rectification orders, and the report (as of today, or as the period's end kept it)."""

import logging
from datetime import date
from io import BytesIO
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel
from sqlmodel import Session, select
from temporalio.client import Client

from api import process
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.cases import service as cases
from api.cases.models import CaseSummary
from api.config import Settings
from api.db import utcnow
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep, TemporalClientDep
from api.monitoring.sheets import XLSX, attachment
from api.reviews import service
from api.reviews.models import (
    Business,
    FindingIn,
    FindingPublic,
    Review,
    ReviewCreate,
    ReviewPublic,
    ReviewUpdate,
)
from api.stations.duties import duties_of
from api.users.models import User
from api.workdays import local_date

log = logging.getLogger("weiquan.reviews")
router = APIRouter(tags=["reviews"])


class PointPublic(BaseModel):
    code: str
    name: str


class SectorPublic(BaseModel):
    code: str
    name: str
    categories: list[str]
    points: list[PointPublic]


class ReviewsPublic(BaseModel):
    data: list[ReviewPublic]
    count: int


class ReportPublic(BaseModel):
    review: str
    final: bool  # as the period's end kept it; else as of today
    on: date
    points: dict[str, Any]
    businesses: dict[str, Any]
    totals: dict[str, int]


def sectors_of(*, session: Session, settings: Settings) -> dict[str, service.Sector]:
    """The sectors in force: the admin's last save, else ``config/reviews.json``."""
    return service.sectors_in_force(session, settings.reviews_file)


def public(session: Session, review: Review, known: dict[str, service.Sector]) -> ReviewPublic:
    status = None
    if review.case_no is not None:
        status = session.exec(select(Case.status).where(Case.case_no == review.case_no)).first()
    found = service.findings(session, review.code, None)
    numbers = [f.order_no for f in found if f.order_no]
    sector = known.get(review.sector)
    return ReviewPublic(
        code=review.code,
        sector=review.sector,
        sector_name=sector.name if sector else review.sector,
        name=review.name,
        starts_on=review.starts_on,
        ends_on=review.ends_on,
        businesses=[Business.model_validate(b) for b in review.businesses],
        file_no=review.case_no,
        status=status,
        version=review.version,
        findings=len(found),
        rectified=sum(1 for f in found if f.rectified_on is not None),
        overdue=service.overdue_orders(session, numbers),
    )


def findings_public(
    session: Session, review: Review, known: dict[str, service.Sector], unit: str | None
) -> list[FindingPublic]:
    found = service.findings(session, review.code, unit)
    duties = duties_of(session, [f.order_no for f in found if f.order_no])
    names = service.businesses(review)
    points = known[review.sector].points if review.sector in known else {}
    out = []
    for f in found:
        duty = duties.get(f.order_no or "")
        out.append(
            FindingPublic(
                id=f.id or 0,
                credit_code=f.credit_code,
                business=names.get(f.credit_code, f.credit_code),
                point=f.point,
                point_name=points.get(f.point, f.point),
                description=f.description,
                case_no=f.source_case_no,
                unit=f.unit,
                found_on=f.found_on,
                by=f.by,
                order_no=f.order_no,
                status=duty.case.status if duty else None,
                due_date=duty.due_date if duty else None,
                overdue=duty.overdue if duty else False,
                rectified_on=f.rectified_on,
                rectification=f.rectification,
            )
        )
    return out


async def start(temporal: Client, settings: Settings, case_no: str, kind: str) -> None:
    """A file's workflow; one Temporal does not confirm waits for the registration repair."""
    try:
        await process.start_new(client=temporal, settings=settings, case_no=case_no, kind=kind)
    except process.StartUnconfirmed:
        log.warning("the file %s waits for its workflow", case_no)


@router.get("/reviews/sectors", response_model=list[SectorPublic])
def list_sectors(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    """The sectors reviewed, their review points, the complaint categories of each."""
    service.readable(user)
    return [
        SectorPublic(
            code=code,
            name=s.name,
            categories=list(s.categories),
            points=[PointPublic(code=k, name=v) for k, v in s.points.items()],
        )
        for code, s in sectors_of(session=session, settings=settings).items()
    ]


@router.get("/reviews", response_model=ReviewsPublic)
def list_reviews(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    service.readable(user)
    known = sectors_of(session=session, settings=settings)
    found = [public(session, r, known) for r in service.listed(session)]
    return ReviewsPublic(data=found, count=len(found))


@router.post("/reviews", response_model=ReviewPublic, status_code=201)
async def create_review(
    body: ReviewCreate,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Any:
    """A review of a sector (the city's): its period (ending today or later) and the
    businesses reviewed; its file, timed to the period's end, starts now."""
    known = await db.run(sectors_of, settings=settings)
    made = await db.run(service.create, settings=settings, user=user, body=body, known=known)
    assert made.case_no is not None
    await start(temporal, settings, made.case_no, CaseKind.REVIEW)
    return await db.run(_public, code=made.code, known=known)


def _public(*, session: Session, code: str, known: dict[str, service.Sector]) -> ReviewPublic:
    return public(session, service.get(session, code), known)


@router.get("/reviews/{code}", response_model=ReviewPublic)
def get_review(code: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    service.readable(user)
    return public(
        session, service.get(session, code), sectors_of(session=session, settings=settings)
    )


@router.put("/reviews/{code}", response_model=ReviewPublic)
def update_review(
    code: str, body: ReviewUpdate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Any:
    """The name and the businesses, from the ``version`` read; the period stays."""
    found = service.update(session=session, user=user, code=code, body=body)
    return public(session, found, sectors_of(session=session, settings=settings))


@router.get("/reviews/{code}/changes")
def review_changes(code: str, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    service.readable(user)
    return [
        {"at": c.at.isoformat(), "by": c.by, "change": c.change}
        for c in service.changes(session, code)
    ]


@router.get("/reviews/{code}/complaints", response_model=list[CaseSummary])
def sector_complaints(
    code: str, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Any:
    """The complaints of the review's sector (by their category) received within its
    period, as this user may see them: where its findings may come from."""
    service.readable(user)
    review = service.get(session, code)
    sector = sectors_of(session=session, settings=settings)[review.sector]
    return [cases.to_summary(c) for c in service.complaints(session, user, review, sector)]


@router.get("/reviews/{code}/findings", response_model=list[FindingPublic])
def list_findings(code: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    """Each finding with its rectification order's status, last day and outcome (a branch:
    those it follows up)."""
    unit = service.readable(user)
    return findings_public(
        session, service.get(session, code), sectors_of(session=session, settings=settings), unit
    )


@router.post("/reviews/{code}/findings", response_model=FindingPublic, status_code=201)
async def add_finding(
    code: str,
    body: FindingIn,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalClientDep,
    user: CurrentUser,
) -> Any:
    """A finding against a reviewed business and a review point (from a complaint of the
    sector, ``case_no``, or the reviewers' own); its rectification order (整改) goes to
    ``unit`` (the city by default) with its deadline."""
    known = await db.run(sectors_of, settings=settings)
    made = await db.run(
        service.add_finding, settings=settings, user=user, code=code, body=body, known=known
    )
    assert made.order_no is not None
    await start(temporal, settings, made.order_no, CaseKind.REVIEW_ORDER)
    return await db.run(_finding, code=code, finding_id=made.id, known=known)


def _finding(
    *, session: Session, code: str, finding_id: int, known: dict[str, service.Sector]
) -> FindingPublic:
    every = findings_public(session, service.get(session, code), known, None)
    return next(f for f in every if f.id == finding_id)


def report_of(
    session: Session, code: str, known: dict[str, service.Sector], user: User
) -> ReportPublic:
    service.readable(user)
    review = service.get(session, code)
    kept = service.final_report(session, code)
    if kept is not None:
        return ReportPublic(review=code, final=True, **kept.results)
    on = min(local_date(utcnow()), review.ends_on)
    found = service.report(session, review, known[review.sector], on)
    return ReportPublic(review=code, final=False, **found)


@router.get("/reviews/{code}/report", response_model=ReportPublic, responses={200: {XLSX: {}}})
def get_report(
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> Any:
    """Per review point and business: found, rectified, open, overdue. At the period's
    end its workflow keeps it (``final``); before, as of today."""
    found = report_of(session, code, sectors_of(session=session, settings=settings), user)
    if format == "xlsx":
        review = service.get(session, code)
        return attachment(workbook(review, found), f"{review.name}评议报告.xlsx", "review.xlsx")
    return found


def workbook(review: Review, found: ReportPublic) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "评议报告"
    sheet.append([review.name])
    sheet.append([f"{review.starts_on.isoformat()} 至 {review.ends_on.isoformat()}"])
    for title, lines in (("评议重点", found.points), ("被评议单位", found.businesses)):
        sheet.append([])
        sheet.append([title, "发现问题", "已整改", "未整改", "超期未整改"])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for line in lines.values():
            sheet.append(
                [line["name"], line["found"], line["rectified"], line["open"], line["overdue"]]
            )
    totals = found.totals
    sheet.append(["合计", totals["found"], totals["rectified"], totals["open"], totals["overdue"]])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
