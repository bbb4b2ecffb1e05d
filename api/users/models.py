from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel


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

    @property
    def city_wide(self) -> bool:
        """A user of the city centre sees every unit's cases."""
        return self.unit == CITY_UNIT


class UserPublic(SQLModel):
    username: str
    role: Role
    unit: str
