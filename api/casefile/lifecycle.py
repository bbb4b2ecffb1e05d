"""The complaint's statuses and the moves allowed between them: one explicit table.

Pure domain code, unit-tested without a database or Temporal.
"""

from enum import StrEnum


class CaseKind(StrEnum):
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    # The monthly bulletin (通报) is a file of its own: its review task, its history and its
    # step records use the case machinery; it is never listed among the cases.
    BULLETIN = "bulletin"  # 通报
    # The plan's duties a unit is set, each a file with its task, its deadline and its
    # escalation (the same machinery), never listed among the cases either.
    DEMONSTRATION = "demonstration"  # 示范点名单（每年每分局一份）
    RECTIFICATION = "rectification"  # 整改（考核不合格的站点）
    CAMPAIGN = "campaign"  # 专项整治（其期间的季度进度检查与最终结果）
    DELISTING = "delisting"  # 不合格商品退市（质量监测专项清查，每个不合格样品一份）
    REVIEW = "review"  # 社会评议（供电、金融）：期满汇总报告
    REVIEW_ORDER = "review_order"  # 社会评议整改通知（每项评议发现一份）


# The kinds that are consumers' cases (lists, search and figures are of these).
CASES: tuple[CaseKind, ...] = (CaseKind.COMPLAINT, CaseKind.REPORT)

# The kinds a ``DutyWorkflow`` runs (workflows/duty.py).
DUTIES: tuple[CaseKind, ...] = (
    CaseKind.DEMONSTRATION,
    CaseKind.RECTIFICATION,
    CaseKind.CAMPAIGN,
    CaseKind.DELISTING,
    CaseKind.REVIEW,
    CaseKind.REVIEW_ORDER,
)


class Channel(StrEnum):
    HOTLINE = "hotline"  # 12315 热线
    WEB = "web"  # 网站 / 全国12315平台
    WECHAT = "wechat"  # 微信
    LETTER = "letter"  # 来信
    WALK_IN = "walk_in"  # 来访
    STATION = "station"  # 维权服务站
    HAND_DOWN = "hand_down"  # 上级交办
    TRANSFER = "transfer"  # 外部转办
    EX_OFFICIO = "ex_officio"  # 依职权发现（调解中发现的违法线索）


class Status(StrEnum):
    REGISTERED = "registered"  # 登记
    RECONCILIATION = "reconciliation"  # 和解（维权站、ODR企业）
    TRIAGE = "triage"  # 受理审查
    REJECTED = "rejected"  # 不予受理
    REFERRED = "referred"  # 移送
    HANDLING = "handling"  # 处理（分送承办单位）
    REPLIED = "replied"  # 已答复
    CALLBACK = "callback"  # 回访中
    CLOSED = "closed"  # 办结
    WITHDRAWN = "withdrawn"  # 撤回
    # Reports (举报)
    VERIFICATION = "verification"  # 核查
    NOT_FILED = "not_filed"  # 不予立案，待告知举报人
    INVESTIGATION = "investigation"  # 立案调查
    # The bulletin (通报)
    DRAFT = "draft"  # 草稿，待审核发布
    PUBLISHED = "published"  # 已发布（不可更改；更正另发新版本）
    # A duty (示范点名单, 整改)
    ASSIGNED = "assigned"  # 已下达，待承办单位办理
    SUBMITTED = "submitted"  # 已报送，待市局审核


# Statuses only a report (举报) takes.
REPORT_ONLY: frozenset[Status] = frozenset(
    {Status.VERIFICATION, Status.NOT_FILED, Status.INVESTIGATION}
)

# Statuses only a bulletin takes.
BULLETIN_ONLY: frozenset[Status] = frozenset({Status.DRAFT, Status.PUBLISHED})

TERMINAL: frozenset[Status] = frozenset(
    {Status.REJECTED, Status.REFERRED, Status.CLOSED, Status.WITHDRAWN, Status.PUBLISHED}
)

_OPEN = {
    Status.REGISTERED,
    Status.RECONCILIATION,
    Status.TRIAGE,
    Status.HANDLING,
    Status.REPLIED,
    Status.CALLBACK,
}

ALLOWED: dict[Status, frozenset[Status]] = {
    # A complaint registered at a station goes to reconciliation (和解) first.
    Status.REGISTERED: frozenset({Status.TRIAGE, Status.RECONCILIATION}),
    # Settled at the station, or on to the centre's triage.
    Status.RECONCILIATION: frozenset({Status.CLOSED, Status.TRIAGE}),
    Status.TRIAGE: frozenset({Status.HANDLING, Status.REJECTED, Status.REFERRED}),
    # A branch returns (退回) a wrongly dispatched case to triage.
    Status.HANDLING: frozenset({Status.REPLIED, Status.TRIAGE}),
    Status.REPLIED: frozenset({Status.CALLBACK, Status.CLOSED}),
    # Unsatisfied with the handling: the supervisor sends it back for redo (重办).
    Status.CALLBACK: frozenset({Status.CALLBACK, Status.CLOSED, Status.HANDLING}),
    Status.REJECTED: frozenset(),
    Status.REFERRED: frozenset(),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
# Withdrawal (撤回) is possible at any open step.
for _status in _OPEN:
    ALLOWED[_status] = ALLOWED[_status] | {Status.WITHDRAWN}


# 举报: registered → triage → verification → investigation (立案) or not_filed → closed.
REPORT_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset({Status.TRIAGE, Status.WITHDRAWN}),
    Status.TRIAGE: frozenset({Status.VERIFICATION, Status.REFERRED, Status.WITHDRAWN}),
    Status.VERIFICATION: frozenset(
        {Status.INVESTIGATION, Status.NOT_FILED, Status.CLOSED, Status.TRIAGE, Status.WITHDRAWN}
    ),
    Status.NOT_FILED: frozenset({Status.CLOSED, Status.WITHDRAWN}),
    Status.INVESTIGATION: frozenset({Status.CLOSED, Status.WITHDRAWN}),
    Status.REFERRED: frozenset(),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}


# 通报: registered → draft (figures computed, review task opened) → published.
BULLETIN_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset({Status.DRAFT}),
    Status.DRAFT: frozenset({Status.PUBLISHED}),
    Status.PUBLISHED: frozenset(),
}

# A duty: registered → assigned (the unit's task, its deadline) → submitted (for the city
# to review; sent back, assigned again) → closed. A duty needing no review closes from
# assigned.
DUTY_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset({Status.ASSIGNED}),
    Status.ASSIGNED: frozenset({Status.SUBMITTED, Status.CLOSED}),
    Status.SUBMITTED: frozenset({Status.ASSIGNED, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

# Statuses only a duty takes.
DUTY_ONLY: frozenset[Status] = frozenset({Status.ASSIGNED, Status.SUBMITTED})

_TABLES = {
    CaseKind.COMPLAINT: ALLOWED,
    CaseKind.REPORT: REPORT_ALLOWED,
    CaseKind.BULLETIN: BULLETIN_ALLOWED,
    CaseKind.DEMONSTRATION: DUTY_ALLOWED,
    CaseKind.RECTIFICATION: DUTY_ALLOWED,
    CaseKind.CAMPAIGN: DUTY_ALLOWED,
    CaseKind.DELISTING: DUTY_ALLOWED,
    CaseKind.REVIEW: DUTY_ALLOWED,
    CaseKind.REVIEW_ORDER: DUTY_ALLOWED,
}


class IllegalTransition(Exception):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"a case cannot move from {current.value} to {target.value}")
        self.current = current
        self.target = target


def ensure_transition(
    current: Status, target: Status, kind: CaseKind = CaseKind.COMPLAINT
) -> Status:
    """Returns ``target`` if the move is allowed for the kind, else raises IllegalTransition."""
    table = _TABLES[kind]
    if target not in table.get(current, frozenset()):
        raise IllegalTransition(current, target)
    return target


def is_open(status: Status) -> bool:
    return status not in TERMINAL
