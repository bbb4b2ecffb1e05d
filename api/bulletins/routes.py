from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.bulletins import document, figures, workbook
from api.db import utcnow
from api.deps import SessionDep, SettingsDep, require
from api.errors import Invalid
from api.users.models import Role
from api.workdays import local_date

router = APIRouter(prefix="/bulletins", tags=["bulletins"])

# Every branch's head reads the whole city's figures; auditors and admins too.
READERS = require(Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


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


@router.get(
    "/{month}/figures",
    response_model=FiguresPublic,
    response_model_by_alias=True,
    dependencies=[READERS],
    responses={
        200: {
            "content": {workbook.XLSX: {}, "application/pdf": {}},
            "description": "JSON; with ?format=xlsx the spreadsheet, with ?format=pdf the "
            "document (a draft until published)",
        }
    },
)
def get_figures(
    month: str,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[Literal["json", "xlsx", "pdf"], Query()] = "json",
) -> Any:
    """A month's bulletin figures as ``docs/bulletin.md`` defines them, computed now from
    the records: each branch's, ranked, with the change against the month before and the
    same month a year before, and the city's. ``?format=xlsx`` gives them as the
    spreadsheet: the ranking, each branch's cases of the month (by number), and the
    definitions."""
    today = local_date(utcnow())
    try:
        wanted = figures.Month.requested(month, today)
    except ValueError as error:
        raise Invalid(("month", str(error)), where="path") from error
    found = figures.compute(session, wanted, min_cases=settings.bulletin_min_cases)
    if format == "xlsx":
        return workbook.download(session, wanted, found)
    if format == "pdf":
        return document.pdf_download(session, settings, wanted, found)
    return FiguresPublic.model_validate(
        {**found, "complete": wanted.last < today, "computed_at": utcnow()}
    )
