from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Index, String, literal, or_, text
from sqlmodel import Field, SQLModel, col

from api.db import UTCDateTime, utcnow
from api.users.models import Role


class TaskKind(StrEnum):
    TRIAGE = "triage"  # 受理审查
    HANDLE = "handle"  # 处理（调解）
    CALLBACK = "callback"  # 回访
    SUPERVISE = "supervise"  # 督办
    APPROVE_EXTENSION = "approve_extension"  # 延期审批
    VERIFY = "verify"  # 举报核查
    NOTIFY_REPORTER = "notify_reporter"  # 告知实名举报人
    INVESTIGATE = "investigate"  # 立案调查
    REVIEW = "review"  # 回访不满意：督办人决定重办或确认
    REVIEW_BULLETIN = "review_bulletin"  # 审核发布月度通报（市局督办人）
    NAME_SITES = "name_sites"  # 申报示范点（分局负责人，每年3月31日前）
    REVIEW_SITES = "review_sites"  # 审核示范点名单（市局督办人）
    RECTIFY = "rectify"  # 站点整改（考核不合格）
    CAMPAIGN_BEHIND = "campaign_behind"  # 专项整治进度预警：分局说明措施
    DELIST = "delist"  # 不合格商品退市：分局记录下架数量与日期
    REVIEW_RECTIFIED = "review_rectified"  # 社会评议整改落实：记录经营者整改情况
    # The mediation ladder (三位一体 + 诉调衔接); ``handle`` is its rung 1 (行政调解).
    RECONCILE = "reconcile"  # 和解：维权站记录商家和解结果
    NOTIFY_TERMINATION = "notify_termination"  # 终止调解告知双方，并定下一步
    COMMITTEE_RESULT = "committee_result"  # 人民调解委员会调解结果
    JUDICIAL_APPLICATION = "judicial_application"  # 共同申请司法确认（协议生效后三十日内）
    COURT_RULING = "court_ruling"  # 法院司法确认裁定
    COURT_OUTCOME = "court_outcome"  # 诉讼结果


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


ACTIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED)


# Open tasks: what the inbox shows and a step may complete.
OPEN_SQL = "status IN ('open', 'claimed')"
# The same, as the inbox's indexes say it: SQLite takes a partial index whose WHERE is
# an OR for a query that says one of its terms, ``status = 'open'`` (``status_is``).
ACTIVE_SQL = "status = 'open' OR status = 'claimed'"


class Task(SQLModel, table=True):
    __table_args__ = (
        # At most one open request to extend a deadline (延期申请): a rule the database holds,
        # so two requests sent before either is decided cannot both stand.
        Index(
            "ux_task_open_extension_request",
            "deadline_id",
            unique=True,
            sqlite_where=text(f"kind = 'approve_extension' AND {OPEN_SQL}"),
            postgresql_where=text(f"kind = 'approve_extension' AND {OPEN_SQL}"),
        ),
        # The inbox of open tasks, one index per way a user sees them
        # (``api.tasks.service.visible_query``): a branch its unit's, the centre its role's,
        # a city-wide reader every one; each in the inbox's order (``INBOX_ORDER``) after
        # the status, so a page is read from the index and the read stops at its end.
        Index(
            "ix_task_open_unit_status_due",
            "unit",
            "status",
            "due_at",
            "id",
            sqlite_where=text(ACTIVE_SQL),
            postgresql_where=text(ACTIVE_SQL),
        ),
        Index(
            "ix_task_open_role_status_due",
            "role",
            "status",
            "due_at",
            "id",
            sqlite_where=text(ACTIVE_SQL),
            postgresql_where=text(ACTIVE_SQL),
        ),
        Index(
            "ix_task_open_status_due",
            "status",
            "due_at",
            "id",
            sqlite_where=text(ACTIVE_SQL),
            postgresql_where=text(ACTIVE_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(foreign_key="case.case_no", index=True, max_length=32)
    kind: TaskKind = Field(index=True, sa_type=String(20))
    role: Role = Field(sa_type=String(20))
    unit: str = Field(foreign_key="unit.code", index=True)
    assignee: str | None = Field(default=None, max_length=60)
    status: TaskStatus = Field(default=TaskStatus.OPEN, index=True, sa_type=String(20))
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")
    # The mediation whose workflow completes it; None: the case's own workflow.
    mediation_id: int | None = Field(default=None, foreign_key="mediation.id", index=True)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by: str | None = Field(default=None, max_length=60)
    # Facts the form needs (suggested unit, attempt number, the deadline supervised).
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


def status_is(*statuses: TaskStatus) -> ColumnElement[bool]:
    """``status = 'open' OR status = 'claimed'`` (or one of them) with the values written
    into the SQL: SQLite plans a query before its parameters are bound, and matches a
    partial index's WHERE (``ACTIVE_SQL``) only against values it can read."""
    return or_(*(col(Task.status) == literal(s.value, literal_execute=True) for s in statuses))


# The inbox's order, soonest due first, tasks without a deadline last, as the open-task
# indexes hold them: PostgreSQL's ascending index keeps its NULLs last, and SQLite reads
# the index's NULLs after the rest. (``due_at IS NULL, due_at, id``, the same order, is a
# sort of every task the inbox holds: no index has ``due_at IS NULL`` in it.)
INBOX_ORDER = (col(Task.due_at).asc().nulls_last(), col(Task.id))


class TaskPublic(SQLModel):
    id: int
    kind: TaskKind
    case_no: str
    unit: str
    role: Role
    assignee: str | None
    status: TaskStatus
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    context: dict[str, Any]
    result: dict[str, Any] | None
    form: dict[str, Any]


class TasksPublic(SQLModel):
    data: list[TaskPublic]
    # The tasks that match, counted up to 1,000 past ``offset`` (``api.db.count_ahead``);
    # count_exact False: more than ``count`` match.
    count: int
    count_exact: bool = True
