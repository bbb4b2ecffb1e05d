from enum import StrEnum

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel


class UnitKind(StrEnum):
    CENTRE = "centre"  # 市局 12315 指挥中心
    BRANCH = "branch"  # 分局 / 县局
    STATION = "station"  # 消费维权服务站


class UnitBase(SQLModel):
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    kind: UnitKind = Field(sa_type=String(20))
    districts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Unit(UnitBase, table=True):
    pass


class UnitPublic(UnitBase):
    pass


class UnitsPublic(SQLModel):
    data: list[UnitPublic]
    count: int
