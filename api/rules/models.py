from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.changelog import ChangePublic
from api.db import UTCDateTime, utcnow
from api.rules.rulesets import Ground, Limit


class RuleSetRecord(SQLModel, table=True):
    """A rule set as an admin maintains it: seeded from config/rulesets.json, then edited
    through the API. Deadlines already set keep the figures they were set with."""

    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    effective_from: datetime = Field(sa_type=UTCDateTime)
    limits: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    grounds: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    updated_by: str = Field(default="seed", max_length=60)


class RuleSetChange(SQLModel, table=True):
    """Every change of a rule set: who, when, and the whole set before and after."""

    __table_args__ = (UniqueConstraint("code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, max_length=40)
    version: int
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- API shapes ---------------------------------------------------------------------


class GroundsPublic(BaseModel):
    rule_set: str
    rule_set_name: str
    kind: str
    data: list[Ground]
    count: int


class RuleSetPublic(BaseModel):
    code: str
    name: str
    effective_from: datetime
    version: int
    limits: dict[str, Limit]
    grounds: dict[str, list[Ground]]
    updated_at: datetime
    updated_by: str


class RuleSetsPublic(BaseModel):
    data: list[RuleSetPublic]
    count: int


class RuleSetUpdate(BaseModel):
    """The whole rule set as it is to be from now on."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = PydanticField(None, description="if given, the code in the path")
    name: str
    effective_from: datetime
    limits: dict[str, Limit]
    grounds: dict[str, list[Ground]]
    version: int | None = PydanticField(
        None, description="the version this change was made from; 409 if it is no longer current"
    )


class RuleSetChangePublic(ChangePublic):
    code: str
    version: int


class RuleSetChangesPublic(BaseModel):
    data: list[RuleSetChangePublic]
    count: int
