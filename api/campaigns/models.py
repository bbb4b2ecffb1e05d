"""Special campaigns (专项整治): each with its products, its period and its quotas per
branch; the reports tagged to one (every tagging and untagging on record); and what the
campaign's workflow found at each quarter's end and at the end."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    # The products concerned (消防产品, 建材 …): what a report's category is matched to.
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_on: date
    ends_on: date
    # Counted toward the bureau's targets (纳入目标考核): its quotas are held to.
    counted: bool = True
    # branch → the cases it files (立案) at least, over the period.
    quotas: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    case_no: str | None = Field(default=None, max_length=32)  # its file, once opened
    version: int = 1


class CampaignChange(SQLModel, table=True):
    """A change to a campaign: who, when, before → after."""

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=40, index=True)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    change: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class CampaignTag(SQLModel, table=True):
    """A report tagged to a campaign (``campaign``) or untagged (None), and by whom: a
    report counts toward a campaign from the later of its filing and its tagging."""

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(max_length=32, index=True)
    campaign: str | None = Field(default=None, max_length=40)
    previous: str | None = Field(default=None, max_length=40)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)


class CampaignCheckpoint(SQLModel, table=True):
    """What the campaign's workflow found at a quarter's end (``q1`` …) or at the end:
    each branch's cases filed, its quota, the share due by then, and behind or met."""

    __table_args__ = (UniqueConstraint("campaign", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=40)
    name: str = Field(max_length=40)  # the deadline it was: campaign_2026q1, campaign_end
    on: date  # the last day it counts
    final: bool = False
    results: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


# --- API shapes ----------------------------------------------------------------------------


class CampaignFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = PydanticField(min_length=1, max_length=200)
    categories: list[str] = PydanticField(default_factory=list, max_length=50)
    starts_on: date
    ends_on: date
    counted: bool = True
    quotas: dict[str, Annotated[int, PydanticField(ge=0, le=1000)]] = PydanticField(
        default_factory=dict
    )

    @field_validator("ends_on")
    @classmethod
    def _after_the_start(cls, value: date, info: ValidationInfo) -> date:
        starts = info.data.get("starts_on")
        if starts is not None and value < starts:
            raise ValueError("ends_on is before starts_on")
        return value


class CampaignCreate(CampaignFields):
    code: str = PydanticField(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")


class CampaignUpdate(CampaignFields):
    version: int = PydanticField(ge=1, description="the version edited (409 if another saved)")


class CampaignTagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: str | None = PydanticField(default=None, max_length=40)


class CampaignYear(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = PydanticField(ge=2000, le=2999)


class BranchProgress(BaseModel):
    unit: str
    filed: int  # reports filed (立案) counted toward it so far
    quota: int
    due_by_now: float  # the quota's share due by today (pro rata over the period)
    behind: bool
    met: bool | None  # at the end: met or missed; None while it runs


class CampaignPublic(BaseModel):
    code: str
    name: str
    categories: list[str]
    starts_on: date
    ends_on: date
    counted: bool
    quotas: dict[str, int]
    file_no: str | None
    status: str | None
    version: int
    progress: list[BranchProgress]
