from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class Role(StrEnum):
    OPERATOR = "operator"  # 指挥中心坐席：登记、受理审查、分送、回访
    HANDLER = "handler"  # 分局承办人：调解、调查、答复
    SUPERVISOR = "supervisor"  # 督办：超期、延期审批、问责
    AUDITOR = "auditor"  # 审计：只读，回放历史
    STATION = "station"  # 维权服务站
    ADMIN = "admin"  # 管理员：组织、用户、日历、规则


CITY_UNIT = "city"


class UserBase(SQLModel):
    username: str = Field(unique=True, index=True, max_length=60)
    role: Role = Field(sa_type=String(20))
    unit: str = Field(foreign_key="unit.code", max_length=40)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str
    active: bool = True
    # Bearer tokens issued before this (a password reset) are refused.
    tokens_valid_after: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def city_wide(self) -> bool:
        """A user of the city centre sees every unit's cases."""
        return self.unit == CITY_UNIT


class UserPublic(SQLModel):
    username: str
    role: Role
    unit: str


class UserChange(SQLModel, table=True):
    """Every change an admin makes to a user: created, role, unit, enabled or disabled,
    password reset. Who, when, and what changed (never a password or its hash)."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=60)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    by: str = Field(max_length=60)
    # {"role": ["handler", "supervisor"], "active": [true, false], "password": "reset", …}
    change: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- API shapes ---------------------------------------------------------------------

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,59}$"


class UserCreate(SQLModel):
    username: Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
    password: str = Field(min_length=1, max_length=200)
    role: Role
    unit: str = Field(min_length=1, max_length=40)


class UserUpdate(SQLModel):
    """What an admin changes: any of role, unit and enabled; the rest stays."""

    role: Role | None = None
    unit: str | None = Field(default=None, min_length=1, max_length=40)
    active: bool | None = None


class PasswordReset(SQLModel):
    password: str = Field(min_length=1, max_length=200)


class UserAdminPublic(UserPublic):
    active: bool


class UsersPublic(SQLModel):
    data: list[UserAdminPublic]
    count: int


class UserChangePublic(SQLModel):
    username: str
    at: datetime
    by: str
    change: dict[str, Any]


class UserChangesPublic(SQLModel):
    data: list[UserChangePublic]
    count: int
