"""The station network (一会两站, 12315 五进): the city's divisions, the registry (名录) of
stations, and every change made to a station."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as NumberError

from api.db import UTCDateTime, utcnow
from api.documents import Entry, once_each


class DivisionLevel(StrEnum):
    COUNTY = "county"  # 县（区）
    TOWNSHIP = "township"  # 乡镇（街道）
    VILLAGE = "village"  # 村（社区）


class Division(SQLModel, table=True):
    """A division of the city with its statistical code, and the branch that covers it
    (seeded from ``config/divisions-chizhou.csv`` and ``config/branch-areas.json``, then the
    admin's: a township given to another branch, a community added, renamed or retired)."""

    code: str = Field(primary_key=True, max_length=12)
    level: DivisionLevel = Field(sa_type=String(10), index=True)
    name: str = Field(max_length=100)
    county_code: str = Field(max_length=12)
    township_code: str | None = Field(default=None, max_length=12, index=True)
    branch: str | None = Field(default=None, foreign_key="unit.code", index=True)
    # a community or village merged away (撤并): kept, with its stations' history, but no
    # longer a place to cover
    retired_on: date | None = None
    merged_into: str | None = Field(default=None, max_length=12)


class DivisionAction(StrEnum):
    ADDED = "added"  # 新增
    EDITED = "edited"  # 更名、调整所属单位
    RETIRED = "retired"  # 撤并


class DivisionChange(SQLModel, table=True):
    """One change the admin made to the division list, with what it changed: a name
    (``{"name": {"from", "to"}}``), a township's branch and the open stations that went with
    it (``{"branch": {…}, "stations": […]}``), a community added, or one retired."""

    id: int | None = Field(default=None, primary_key=True)
    division: str = Field(max_length=12, index=True)
    action: DivisionAction = Field(sa_type=String(10))
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    change: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


_STRIP = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DivisionCreate(BaseModel):
    """A community or village new to a township (its statistical code: the township's nine
    digits and three more)."""

    model_config = _STRIP

    code: str = PydanticField(pattern=r"^[0-9]{12}$")
    name: str = PydanticField(min_length=1, max_length=100)
    township: str = PydanticField(pattern=r"^[0-9]{9}$")


class DivisionUpdate(BaseModel):
    """A new name, or (a township's) another branch: what is sent changes."""

    model_config = _STRIP

    name: str | None = PydanticField(default=None, min_length=1, max_length=100)
    branch: str | None = PydanticField(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _something(self) -> "DivisionUpdate":
        if self.name is None and self.branch is None:
            raise ValueError("send the new name or the branch")
        return self


class DivisionRetire(BaseModel):
    """A community or village merged away (撤并), into another if it was."""

    model_config = _STRIP

    reason: str = PydanticField(min_length=1, max_length=200)
    merged_into: str | None = PydanticField(default=None, pattern=r"^[0-9]{12}$")
    retired_on: date | None = None


class StationType(StrEnum):
    ASSOCIATION = "association"  # 消协分会（乡镇、街道）
    LIAISON = "liaison"  # 12315联络站（村、社区）
    SERVICE = "service"  # 消费维权服务站


class HostType(StrEnum):
    """Where a 12315 五进 station is hosted."""

    SUPERMARKET = "supermarket"  # 超市
    MALL = "mall"  # 商场
    MARKET = "market"  # 市场
    ENTERPRISE = "enterprise"  # 企业
    SCENIC = "scenic"  # 景区


class Station(SQLModel, table=True):
    __table_args__ = (Index("ix_station_branch_closed_on", "branch", "closed_on"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    type: StationType = Field(sa_type=String(20))
    five_in: HostType | None = Field(default=None, sa_type=String(20))  # 12315 五进
    branch: str = Field(foreign_key="unit.code")
    township: str = Field(foreign_key="division.code", max_length=12)
    village: str | None = Field(default=None, foreign_key="division.code", max_length=12)
    # The business that hosts it (超市, 商场, 企业 …): its name and 统一社会信用代码.
    host_name: str | None = Field(default=None, max_length=200)
    host_credit_code: str | None = Field(default=None, max_length=18)
    # Who to call there: names and phones, kept here only.
    contacts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    opened_on: date
    demonstration: bool = False  # 示范点
    # The unit its staff sign in as, when they use the workplace (a station unit).
    unit: str | None = Field(default=None, foreign_key="unit.code")
    closed_on: date | None = None
    closed_reason: str | None = Field(default=None, max_length=500)
    version: int = 1


class StationChange(SQLModel, table=True):
    """One change to a station (opened, edited, closed): who, when, and before → after."""

    id: int | None = Field(default=None, primary_key=True)
    station: str = Field(max_length=40, index=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    change: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- API shapes ----------------------------------------------------------------------------


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = PydanticField(min_length=1, max_length=60)
    phone: str = PydanticField(min_length=5, max_length=40, pattern=r"^[0-9+\- ]+$")
    role: str | None = PydanticField(default=None, max_length=60)


def credit_code(value: str | None) -> str | None:
    """A 统一社会信用代码 (GB 32100-2015), its check digit verified; upper-cased."""
    if value is None or value == "":
        return None
    try:
        return str(uscc.validate(value))
    except NumberError as error:
        raise ValueError(f"not a valid 统一社会信用代码: {error}") from error


class StationFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = PydanticField(min_length=1, max_length=200)
    type: StationType
    five_in: HostType | None = None
    branch: str = PydanticField(min_length=1, max_length=40)
    township: str = PydanticField(min_length=1, max_length=12)
    village: str | None = PydanticField(default=None, max_length=12)
    host_name: str | None = PydanticField(default=None, max_length=200)
    host_credit_code: str | None = PydanticField(default=None, max_length=18)
    contacts: list[Contact] = PydanticField(default_factory=list, max_length=10)
    opened_on: date
    demonstration: bool = False
    unit: str | None = PydanticField(default=None, max_length=40)

    _credit = field_validator("host_credit_code")(credit_code)


class StationCreate(StationFields):
    code: str = PydanticField(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")


class StationUpdate(StationFields):
    version: int = PydanticField(ge=1, description="the version edited (409 if another saved)")


class StationClose(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    closed_on: date
    reason: str = PydanticField(min_length=1, max_length=500)
    version: int = PydanticField(ge=1)


class StationPublic(BaseModel):
    code: str
    name: str
    type: StationType
    five_in: HostType | None
    branch: str
    township: str
    township_name: str
    village: str | None
    village_name: str | None
    host_name: str | None
    host_credit_code: str | None
    contacts: list[dict[str, Any]]
    opened_on: date
    demonstration: bool
    unit: str | None
    closed_on: date | None
    closed_reason: str | None
    version: int


class StationsPublic(BaseModel):
    data: list[StationPublic]
    count: int


class StationChangePublic(BaseModel):
    at: datetime
    by: str
    change: dict[str, Any]


class StationAssessment(SQLModel, table=True):
    """A standardisation assessment (标准化考核评价) of a station against the city's
    checklist (``config/station-checklist.json``): each item's score, the total, whether
    it passed, and who assessed it. A station may be assessed again in a year (after its
    rectification); the latest counts."""

    __table_args__ = (Index("ix_stationassessment_station_year", "station", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    station: str = Field(max_length=40)
    year: int
    assessed_on: date
    assessor: str = Field(max_length=60)
    scores: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    total: int
    pass_mark: int
    passed: bool
    note: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    year: int = PydanticField(ge=2000, le=2999)
    assessed_on: date
    scores: dict[str, int] = PydanticField(description="each checklist item's points")
    note: str | None = PydanticField(default=None, max_length=2000)


class AssessmentPublic(BaseModel):
    station: str
    year: int
    assessed_on: date
    assessor: str
    scores: dict[str, int]
    total: int
    pass_mark: int
    passed: bool
    note: str | None
    # Below the pass mark: the rectification's file (整改), None when one was open already.
    rectification: str | None = None


# --- the plan's duties: demonstration sites (示范点) and rectification (整改) ---------------


class DemonstrationList(SQLModel, table=True):
    """A branch's demonstration sites (示范点) of a year, one per 五进 host type: the file
    the yearly task opened (one per branch and year), what the branch last sent, and the
    city's decision."""

    __table_args__ = (UniqueConstraint("year", "branch"),)

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(unique=True, max_length=32, foreign_key="case.case_no")
    year: int
    branch: str = Field(foreign_key="unit.code")
    # host type → station code, as last sent (empty until then).
    sites: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by: str | None = Field(default=None, max_length=60)
    returned: int = 0  # how many times the city sent it back
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=60)


class StationRectification(SQLModel, table=True):
    """A station's rectification (整改) after an assessment below the pass mark: its file,
    the branch's report of what was done, and when. A station has one open at a time."""

    __table_args__ = (
        Index(
            "ux_stationrectification_open",
            "station",
            unique=True,
            sqlite_where=text("done_at IS NULL"),
            postgresql_where=text("done_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(unique=True, max_length=32, foreign_key="case.case_no")
    station: str = Field(max_length=40, index=True)
    assessment_id: int = Field(unique=True, foreign_key="stationassessment.id")
    year: int
    opened_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    summary: str | None = None
    done_on: date | None = None
    done_by: str | None = Field(default=None, max_length=60)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DemonstrationStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = PydanticField(ge=2000, le=2999)


class DemonstrationPublic(BaseModel):
    file_no: str
    year: int
    branch: str
    status: str
    sites: dict[str, str]
    due_date: date | None
    overdue: bool
    submitted_at: datetime | None
    submitted_by: str | None
    returned: int
    approved_at: datetime | None
    approved_by: str | None


class RectificationPublic(BaseModel):
    file_no: str
    station: str
    year: int
    status: str
    opened_at: datetime
    due_date: date | None
    overdue: bool
    summary: str | None
    done_on: date | None
    done_by: str | None


# --- the checklist (its reference document: api.documents) ----------------------------------


class ChecklistItem(Entry):
    points: int = PydanticField(ge=1, le=100)  # the most the item scores


class ChecklistDocument(BaseModel):
    """The city's 标准化建设标准 as the admin saves it: the items, the pass mark."""

    model_config = ConfigDict(extra="forbid")

    items: list[ChecklistItem] = PydanticField(min_length=1, max_length=100)
    pass_mark: int = PydanticField(ge=1, le=1000)

    _once = field_validator("items")(once_each)

    @field_validator("pass_mark")
    @classmethod
    def _reachable(cls, value: int, info: ValidationInfo) -> int:
        items = info.data.get("items") or []
        if value > sum(i.points for i in items):
            raise ValueError("the pass mark is above the items' total")
        return value
