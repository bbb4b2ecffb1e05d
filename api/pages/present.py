"""How the workplace shows dates, deadlines and codes: the way a clerk reads them.

A deadline that ends at 24:00 on 13 November reads "2026年11月13日止", with the working
days left ("剩余 3 个工作日": those after today, as the law counts them) or the working
days overdue ("已超期 2 个工作日"), a colour for warning and overdue, and "暂定" when
the calendar of a year it runs through is not published yet."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from api import labels
from api.tasks import kinds
from api.workdays import ZONE, WorkingCalendar, local_date

_DAY = timedelta(days=1)


day = labels.day
moment = labels.moment


def last_day(due_at: datetime) -> date:
    """The last day of a deadline that expires at ``due_at`` (24:00 is the next day's 00:00)."""
    local = due_at.astimezone(ZONE)
    if local.time() == time(0):
        return local.date() - _DAY
    return local.date()


@dataclass(frozen=True)
class Due:
    """A deadline as shown: its last day, what is left or overdue, and its colour."""

    text: str  # 2026年11月13日止
    left: str  # 剩余 3 个工作日 | 今日到期 | 已超期 2 个工作日 | 已完成 | 中止计时
    css: str  # "" | "warning" | "overdue" | "done"
    provisional: bool
    working_days_left: int | None  # negative when overdue; None once done


def due(
    due_at: datetime,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    warning_days: int,
    state: str = "pending",
    provisional: bool = False,
) -> Due:
    end = last_day(due_at)
    text = f"{day(end)}止"
    if state == "met":
        return Due(text, "按期完成", "done", provisional, None)
    if state == "paused":
        return Due(text, "中止计时", "", provisional, None)
    today = local_date(now)
    if now < due_at:
        # As the law counts: the working days after today, through the last day.
        left = calendar.working_days_between(today, end)
        words = "今日到期" if today >= end else f"剩余 {left} 个工作日"
        return Due(text, words, "warning" if left <= warning_days else "", provisional, left)
    late = calendar.working_days_between(end, today)
    words = f"已超期 {late} 个工作日" if late else "已超期"
    return Due(text, words, "overdue", provisional, -late)


# The facts an event's data carries that a reader needs, with their Chinese names; the
# rest (ids, hashes, flags of the machinery) stays in the record, not on the page.
_FACTS = {
    "unit": "单位",
    "to": "移送至",
    "ground": "依据",
    "reason": "理由",
    "decision": "决定",
    "outcome": "结果",
    "satisfaction": "满意度",
    "amount_recovered": "挽回经济损失（元）",
    "working_days": "工作日数",
    "attempt": "回访次数",
    "number": "调解次数",
    "kind": "事项",
    "rung": "层级",
    "channel": "方式",
    "by": "经办人",
}


def event_summary(event_type: str, data: dict[str, Any], unit_names: dict[str, str]) -> str:
    """The few facts of an event a reader needs, in Chinese (codes by their names)."""
    parts: list[str] = []
    if event_type == "status_changed" and data.get("to") in labels.STATUS:
        before = labels.name(labels.STATUS, data.get("from"))
        return f"{before} → {labels.STATUS[data['to']]}" if before else labels.STATUS[data["to"]]
    if event_type == "registered" and data.get("kind") == "bulletin":
        replaces = f"，更正 {data['replaces']}" if data.get("replaces") else ""
        return f"{data.get('month')} 第{data.get('version')}版{replaces}"
    if event_type == "bulletin_published":
        return f"文号：{data.get('number')}；SHA-256：{data.get('sha256')}"
    if event_type == "registered" and data.get("kind") == "demonstration":
        return f"{data.get('year')}年示范点名单：{unit_names.get(data.get('branch', ''), '')}"
    if event_type == "registered" and data.get("kind") == "rectification":
        return (
            f"站点 {data.get('station')} 考核 {data.get('total')} 分，"
            f"低于合格线 {data.get('pass_mark')} 分"
        )
    if event_type == "registered" and data.get("kind") == "campaign":
        return f"专项整治 {data.get('campaign')}"
    if event_type == "campaign_checkpoint":
        behind = [unit_names.get(u, u) for u in data.get("behind", [])]
        return f"进度落后：{'、'.join(behind)}" if behind else "各单位进度正常"
    if event_type == "campaign_ended":
        met = "、".join(unit_names.get(u, u) for u in data.get("met", [])) or "无"
        missed = "、".join(unit_names.get(u, u) for u in data.get("missed", [])) or "无"
        return f"完成：{met}；未完成：{missed}"
    if event_type in ("campaign_tagged", "campaign_untagged"):
        return f"专项整治：{data.get('campaign') or data.get('previous')}"
    if event_type == "demonstration_returned":
        return f"理由：{data.get('reason', '')}"
    if event_type == "registered":
        parts.append(f"来源：{labels.name(labels.CHANNEL, data.get('channel'))}")
        return "；".join(parts)
    if isinstance(data.get("name"), str):
        parts.append(labels.name(labels.DEADLINE, data["name"]))
    if isinstance(data.get("due_at"), str):
        try:
            parts.append(f"{day(last_day(datetime.fromisoformat(data['due_at'])))}止")
        except ValueError:
            pass
    for key, word in _FACTS.items():
        value = data.get(key)
        if value is None or value == "":
            continue
        if key == "unit":
            shown = unit_names.get(value, value)
        elif key == "kind":
            shown = kinds.LABELS.get(value, value)
        elif key == "rung":
            shown = labels.name(labels.RUNG, value)
        elif isinstance(value, bool):
            shown = "是" if value else "否"
        else:
            shown = labels.CHOICE.get(str(value), str(value))
        parts.append(f"{word}：{shown}")
    return "；".join(parts)


def user_change(change: dict[str, Any], unit_names: dict[str, str]) -> str:
    """A recorded change of a user, in Chinese (a password is only ever "reset")."""
    parts: list[str] = []
    created = change.get("created")
    if isinstance(created, dict):
        role = labels.name(labels.ROLE, created.get("role"))
        parts.append(
            f"创建：{role}，{unit_names.get(created.get('unit', ''), created.get('unit'))}"
        )
    for key, word in (("role", "角色"), ("unit", "单位")):
        if isinstance(change.get(key), list):
            before, after = change[key]
            if key == "role":
                before, after = labels.name(labels.ROLE, before), labels.name(labels.ROLE, after)
            else:
                before, after = unit_names.get(before, before), unit_names.get(after, after)
            parts.append(f"{word}：{before} → {after}")
    if isinstance(change.get("active"), list):
        parts.append("启用" if change["active"][1] else "停用")
    if change.get("password"):
        parts.append("重置密码")
    return "；".join(parts)
