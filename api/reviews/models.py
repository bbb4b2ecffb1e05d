"""Public-service sector reviews (社会评议: 供电, 金融): a review of a sector over a period,
the businesses it reviews, what it found against each review point (from the sector's
complaints, or the reviewers' own), the rectification order (整改) each finding gives,
every change on record, and what the review's end found."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow
from api.documents import Entry, once_each
from api.stations.models import credit_code as valid_credit_code


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    sector: str = Field(max_length=40)  # a sector of config/reviews.json
    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    # [{credit_code, name}]: the businesses reviewed (供电公司, 各银行、保险公司)
    businesses: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    case_no: str | None = Field(default=None, max_length=32)  # its file: timed to its end
    created_by: str = Field(max_length=60)
    version: int = 1


class ReviewFinding(SQLModel, table=True):
    """A finding against a business and a review point; from a complaint of the sector
    (``case_no``) or the reviewers' own. Its rectification order is a file of its own."""

    __table_args__ = (UniqueConstraint("review", "source_case_no"),)

    id: int | None = Field(default=None, primary_key=True)
    review: str = Field(max_length=40, index=True)
    credit_code: str = Field(max_length=18)
    point: str = Field(max_length=40)
    description: str = Field(max_length=5000)
    source_case_no: str | None = Field(default=None, max_length=32)
    unit: str = Field(max_length=40)  # who follows the rectification up
    found_on: date
    by: str = Field(max_length=60)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    order_no: str | None = Field(default=None, max_length=32, unique=True)  # 整改 file
    rectified_on: date | None = None
    rectification: str | None = Field(default=None, max_length=10000)


class ReviewChange(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    review: str = Field(max_length=40, index=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    change: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ReviewReport(SQLModel, table=True):
    """What the review's end found: per point and per business, found, rectified, open and
    overdue (kept as it stood then)."""

    id: int | None = Field(default=None, primary_key=True)
    review: str = Field(max_length=40, unique=True)
    on: date
    results: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


# --- API shapes ----------------------------------------------------------------------------


class Business(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    credit_code: str = PydanticField(min_length=18, max_length=18)
    name: str = PydanticField(min_length=1, max_length=200)

    _credit = field_validator("credit_code")(valid_credit_code)


class ReviewFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = PydanticField(min_length=1, max_length=200)
    starts_on: date
    ends_on: date
    businesses: list[Business] = PydanticField(min_length=1, max_length=200)

    @field_validator("ends_on")
    @classmethod
    def _after_the_start(cls, value: date, info: ValidationInfo) -> date:
        starts = info.data.get("starts_on")
        if starts is not None and value < starts:
            raise ValueError("ends_on is before starts_on")
        return value

    @field_validator("businesses")
    @classmethod
    def _once_each(cls, value: list[Business]) -> list[Business]:
        codes = [b.credit_code for b in value]
        if len(set(codes)) != len(codes):
            raise ValueError("a business is listed twice")
        return value


class ReviewCreate(ReviewFields):
    code: str = PydanticField(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    sector: str = PydanticField(min_length=1, max_length=40)


class ReviewUpdate(ReviewFields):
    version: int = PydanticField(ge=1, description="the version edited (409 if another saved)")


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    credit_code: str = PydanticField(min_length=18, max_length=18)
    point: str = PydanticField(min_length=1, max_length=40)
    description: str = PydanticField(min_length=1, max_length=5000)
    case_no: str | None = PydanticField(default=None, min_length=1, max_length=32)
    unit: str | None = PydanticField(default=None, max_length=40)
    found_on: date


class FindingPublic(BaseModel):
    id: int
    credit_code: str
    business: str
    point: str
    point_name: str
    description: str
    case_no: str | None
    unit: str
    found_on: date
    by: str
    order_no: str | None
    status: str | None
    due_date: date | None
    overdue: bool
    rectified_on: date | None
    rectification: str | None


class ReviewPublic(BaseModel):
    code: str
    sector: str
    sector_name: str
    name: str
    starts_on: date
    ends_on: date
    businesses: list[Business]
    file_no: str | None
    status: str | None
    version: int
    findings: int
    rectified: int
    overdue: int


# --- the sectors (their reference document: api.documents) ----------------------------------


class SectorEntry(Entry):
    categories: list[str] = PydanticField(min_length=1, max_length=50)  # its complaints'
    points: list[Entry] = PydanticField(min_length=1, max_length=100)  # 评议重点

    _once = field_validator("points")(once_each)

    @field_validator("categories")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        named = [c.strip() for c in value]
        if any(not c or len(c) > 40 for c in named):
            raise ValueError("a category is 1 to 40 characters")
        if len(set(named)) != len(named):
            raise ValueError("a category is listed twice")
        return named


class SectorsDocument(BaseModel):
    """The sectors reviewed, as the admin saves them."""

    model_config = ConfigDict(extra="forbid")

    sectors: list[SectorEntry] = PydanticField(min_length=1, max_length=50)

    _once = field_validator("sectors")(once_each)
