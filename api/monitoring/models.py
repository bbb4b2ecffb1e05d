"""Commodity quality monitoring (商品质量监测): the year's plan (commodities, areas and the
samples targeted), the sampling batches (抽检批次) and their samples, every change on
record, the clean-up actions (专项清查) a commodity's failure rate opens, and the
delisting (退市) each failed sample's outlet is given."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow
from api.documents import Entry, once_each
from api.stations.models import credit_code as valid_credit_code


class MonitoringPlan(SQLModel, table=True):
    """The year's monitoring plan (监测方案): the samples targeted per commodity and area,
    and the failure rate above which a commodity is cleaned up."""

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True)
    # [{commodity, area, target}]: the samples to take of a commodity in a kind of area.
    targets: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # A commodity's failure rate above this (failed ÷ tested, 0–1), once at least
    # minimum_samples of it are tested, opens its clean-up (专项清查).
    threshold: float
    minimum_samples: int
    version: int = 1


class SamplingBatch(SQLModel, table=True):
    """A sampling batch (抽检批次): the samples taken in one round; its failed commodities
    and outlets published (信息公开) once the city says so."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    year: int = Field(index=True)
    name: str = Field(max_length=200)
    created_by: str = Field(max_length=60)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=60)


class Sample(SQLModel, table=True):
    """One sample (样品) of a batch: the outlet it was bought at, what it is, who tested it,
    and the result. A failed sample may open a report against the outlet (``report_no``)."""

    __table_args__ = (Index("ix_sample_year_commodity", "year", "commodity"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="samplingbatch.id", index=True)
    year: int
    sample_no: str = Field(unique=True, max_length=40)  # the testing body's number
    unit: str = Field(max_length=40)  # the branch whose area the outlet is in
    area: str = Field(max_length=40)  # city_community, village, urban_fringe
    outlet: str = Field(max_length=200)  # the shop (经营场所)
    business: str = Field(max_length=200)  # its business (经营者), as licensed
    credit_code: str = Field(max_length=18)  # the business's 统一社会信用代码
    outlet_address: str | None = Field(default=None, max_length=500)
    commodity: str = Field(max_length=40)
    product: str = Field(max_length=200)  # the product's name (样品名称)
    brand: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    lot: str | None = Field(default=None, max_length=100)  # the production batch (批号)
    sampled_on: date
    tested_by: str = Field(max_length=200)  # the testing body (检验机构)
    passed: bool
    failed_items: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    entered_by: str = Field(max_length=60)
    entered_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    import_id: int | None = Field(default=None)
    report_no: str | None = Field(default=None, max_length=32, unique=True)


class SampleImport(SQLModel, table=True):
    """An XLSX of results imported into a batch, whole or not at all."""

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="samplingbatch.id", index=True)
    filename: str = Field(max_length=200)
    rows: int
    by: str = Field(max_length=60)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class MonitoringChange(SQLModel, table=True):
    """A change in the monitoring's record: a plan made or edited, a batch opened or
    published, samples entered or imported, a clean-up opened, a report opened from a
    sample. ``subject``: ``plan:2026``, ``batch:2026-01``, ``sample:JC-0001`` …"""

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=60, index=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    change: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class CleanUp(SQLModel, table=True):
    """A clean-up action (专项清查) of a commodity in a year: opened once, when its failure
    rate went over the plan's threshold; what it stood at then."""

    __table_args__ = (UniqueConstraint("year", "commodity"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    commodity: str = Field(max_length=40)
    tested: int
    failed: int
    threshold: float
    opened_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    opened_by: str = Field(max_length=60)


class Delisting(SQLModel, table=True):
    """The delisting (退市) of a failed sample's lot at its outlet: a file of its own
    (``QC2026000012``), the branch's task with its deadline, escalated if late; done with
    the quantity removed and the day."""

    __table_args__ = (
        Index(
            "ix_delisting_open",
            "cleanup_id",
            sqlite_where=text("done_at IS NULL"),
            postgresql_where=text("done_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    cleanup_id: int = Field(foreign_key="cleanup.id")
    sample_id: int = Field(foreign_key="sample.id", unique=True)
    case_no: str = Field(unique=True, max_length=32)
    unit: str = Field(max_length=40)
    quantity: int | None = None
    done_on: date | None = None
    note: str | None = Field(default=None, max_length=5000)
    done_by: str | None = Field(default=None, max_length=60)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- API shapes ----------------------------------------------------------------------------


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    commodity: str = PydanticField(min_length=1, max_length=40)
    area: str = PydanticField(min_length=1, max_length=40)
    target: int = PydanticField(ge=0, le=100000)


class PlanFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = PydanticField(min_length=1, max_length=500)
    threshold: float | None = PydanticField(default=None, gt=0, le=1)
    minimum_samples: int | None = PydanticField(default=None, ge=1, le=10000)

    @field_validator("targets")
    @classmethod
    def _once_each(cls, value: list[Target]) -> list[Target]:
        seen: set[tuple[str, str]] = set()
        for each in value:
            key = (each.commodity, each.area)
            if key in seen:
                raise ValueError(f"{each.commodity} in {each.area} is listed twice")
            seen.add(key)
        return value


class PlanCreate(PlanFields):
    year: int = PydanticField(ge=2000, le=2999)


class PlanUpdate(PlanFields):
    version: int = PydanticField(ge=1, description="the version edited (409 if another saved)")


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = PydanticField(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    year: int = PydanticField(ge=2000, le=2999)
    name: str = PydanticField(min_length=1, max_length=200)


class SampleIn(BaseModel):
    """One sample's result, as a form, the API or a row of an XLSX gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sample_no: str = PydanticField(min_length=1, max_length=40)
    unit: str = PydanticField(min_length=1, max_length=40)
    area: str = PydanticField(min_length=1, max_length=40)
    outlet: str = PydanticField(min_length=1, max_length=200)
    business: str = PydanticField(min_length=1, max_length=200)
    credit_code: str = PydanticField(min_length=18, max_length=18)
    outlet_address: str | None = PydanticField(default=None, max_length=500)
    commodity: str = PydanticField(min_length=1, max_length=40)
    product: str = PydanticField(min_length=1, max_length=200)
    brand: str | None = PydanticField(default=None, max_length=100)
    model: str | None = PydanticField(default=None, max_length=100)
    lot: str | None = PydanticField(default=None, max_length=100)
    sampled_on: date
    tested_by: str = PydanticField(min_length=1, max_length=200)
    passed: bool
    failed_items: list[str] = PydanticField(default_factory=list, max_length=50)

    _credit = field_validator("credit_code")(valid_credit_code)

    @field_validator("failed_items")
    @classmethod
    def _items(cls, value: list[str]) -> list[str]:
        items = [v.strip() for v in value if v.strip()]
        if any(len(v) > 200 for v in items):
            raise ValueError("an item is longer than 200 characters")
        return items


class DelistingPublic(BaseModel):
    case_no: str
    sample_no: str
    unit: str
    outlet: str
    business: str
    lot: str | None
    status: str | None
    due_date: date | None
    overdue: bool
    quantity: int | None
    done_on: date | None


class CleanUpPublic(BaseModel):
    id: int
    year: int
    commodity: str
    tested: int
    failed: int
    threshold: float
    opened_at: datetime
    done: bool
    delistings: list[DelistingPublic]


class SamplePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sample_no: str
    batch: str
    unit: str
    area: str
    outlet: str
    business: str
    credit_code: str
    outlet_address: str | None
    commodity: str
    product: str
    brand: str | None
    model: str | None
    lot: str | None
    sampled_on: date
    tested_by: str
    passed: bool
    failed_items: list[str]
    entered_by: str
    report_no: str | None


class CommodityRate(BaseModel):
    commodity: str
    name: str
    tested: int
    failed: int
    rate: float  # failed ÷ tested (0 when none tested)
    over: bool  # over the threshold, with at least minimum_samples tested
    cleanup: int | None  # its clean-up, once opened


class AreaProgress(BaseModel):
    commodity: str
    area: str
    target: int
    tested: int


class PlanPublic(BaseModel):
    year: int
    targets: list[Target]
    threshold: float
    minimum_samples: int
    version: int
    progress: list[AreaProgress]
    rates: list[CommodityRate]


class BatchPublic(BaseModel):
    code: str
    year: int
    name: str
    created_by: str
    published_at: datetime | None
    samples: int
    failed: int


# --- the catalogue (its reference document: api.documents) ----------------------------------


class CatalogueDocument(BaseModel):
    """What a plan may name, and a new plan's defaults, as the admin saves them."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = PydanticField(gt=0, lt=1)  # failed ÷ tested above which: clean-up
    minimum_samples: int = PydanticField(ge=1, le=10_000)
    commodities: list[Entry] = PydanticField(min_length=1, max_length=200)
    areas: list[Entry] = PydanticField(min_length=1, max_length=50)

    _once = field_validator("commodities", "areas")(once_each)
