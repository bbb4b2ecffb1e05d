"""The rule sets as the admin edits them (规则集): a form from the set's figures and
grounds, and back; and each recorded change, written as what changed.

A limit's figures are number fields named ``limits.<name>.<figure>`` (blank: the figure
is not set); the event its clock starts from is shown, not edited, because the process
counts from it by name. A ground is a row ``grounds.<kind>.<n>.code|article|text``; a
blank code leaves the row out, and an empty row at the end of each kind adds one."""

from datetime import datetime
from typing import Any

from api import labels
from api.rules.rulesets import RuleSet
from api.workdays import ZONE

FIGURES = {
    "working_days": "工作日",
    "calendar_days": "自然日",
    "extension_working_days": "可延长工作日",
    "extension_calendar_days": "可延长自然日",
    "count": "次数",
}
LIMIT_NAMES = {**labels.DEADLINE, "callback_attempts": "回访次数上限"}
GROUND_KINDS = {"reject": "不予受理依据", "terminate": "终止调解依据"}
FROM = {
    "received": "收到投诉举报之日",
    "registered": "登记之日",
    "accepted": "受理之日",
    "terminated": "终止调解之日",
    "referred": "转人民调解之日",
    "agreement_effective": "调解协议生效之日",
    "applied": "申请司法确认之日",
    "guided": "引导诉讼之日",
    "replied": "答复之日",
    "decided": "作出决定之日",
    "filed": "立案之日",
}
GROUND_PARTS = ("code", "article", "text")


def document(posted: dict[str, str], current: RuleSet) -> dict[str, Any]:
    """The rule set as posted, in the shape ``PUT /api/v1/rules/{code}`` takes."""
    limits: dict[str, Any] = {}
    for name, limit in current.limits.items():
        figures: dict[str, Any] = {}
        for figure in FIGURES:
            typed = posted.get(f"limits.{name}.{figure}", "").strip()
            if typed:
                figures[figure] = int(typed) if typed.lstrip("-").isdigit() else typed
        if limit.from_:
            figures["from"] = limit.from_
        expiry = posted.get(f"limits.{name}.expiry_ground", "").strip()
        if expiry:
            figures["expiry_ground"] = expiry
        limits[name] = figures
    grounds = {
        kind: [row for _, row in _ground_rows(posted, kind) if row["code"]]
        for kind in current.grounds
    }
    moment = posted.get("effective_from", "").strip()
    try:
        parsed = datetime.fromisoformat(moment)
        effective: Any = (parsed if parsed.tzinfo else parsed.replace(tzinfo=ZONE)).isoformat()
    except ValueError:
        effective = moment
    return {
        "name": posted.get("name", "").strip(),
        "effective_from": effective,
        "limits": limits,
        "grounds": grounds,
    }


def field_of(loc: list[str], posted_grounds: dict[str, list[int]]) -> str:
    """The form field an error's location names (``limits.handle.working_days``)."""
    parts = [p for p in loc if p != "body"]
    if parts[:1] == ["grounds"] and len(parts) >= 3 and parts[2].isdigit():
        kept = posted_grounds.get(parts[1], [])
        row = int(parts[2])
        index = kept[row] if row < len(kept) else row
        return ".".join(["grounds", parts[1], str(index), *(parts[3:4] or ["code"])])
    if parts[:1] == ["limits"] and len(parts) == 2:
        return f"limits.{parts[1]}.working_days"
    return ".".join(parts[:3]) if parts else ""


def _ground_rows(posted: dict[str, str], kind: str) -> list[tuple[int, dict[str, str]]]:
    """The ground rows of a kind as posted, each with its index in the form."""
    rows = []
    index = 0
    while f"grounds.{kind}.{index}.code" in posted:
        row = {p: posted.get(f"grounds.{kind}.{index}.{p}", "").strip() for p in GROUND_PARTS}
        rows.append((index, row))
        index += 1
    return rows


def kept_rows(posted: dict[str, str], kinds: list[str]) -> dict[str, list[int]]:
    """Which posted rows of each kind were kept (a blank code drops a row): an error on
    the n-th ground sent belongs beside that row of the form."""
    return {kind: [i for i, row in _ground_rows(posted, kind) if row["code"]] for kind in kinds}


def change_summary(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What a recorded change changed, one line each, in Chinese."""
    if before is None:
        return ["首次载入"]
    lines: list[str] = []
    if before.get("name") != after.get("name"):
        lines.append(f"名称：{before.get('name')} → {after.get('name')}")
    if before.get("effective_from") != after.get("effective_from"):
        lines.append(f"施行时间：{before.get('effective_from')} → {after.get('effective_from')}")
    for name, limit in after.get("limits", {}).items():
        old = before.get("limits", {}).get(name, {})
        for figure, word in (*FIGURES.items(), ("expiry_ground", "期满终止依据")):
            if old.get(figure) != limit.get(figure):
                was, now = old.get(figure, "未设"), limit.get(figure, "未设")
                lines.append(f"{LIMIT_NAMES.get(name, name)}{word}：{was} → {now}")
    for kind, rows in after.get("grounds", {}).items():
        old_rows = {g["code"]: g for g in before.get("grounds", {}).get(kind, [])}
        new_rows = {g["code"]: g for g in rows}
        word = GROUND_KINDS.get(kind, kind)
        for code, ground in new_rows.items():
            if code not in old_rows:
                lines.append(f"新增{word} {code}（{ground['article']}）")
            elif old_rows[code] != ground:
                lines.append(f"修改{word} {code}（{ground['article']}）")
        lines += [f"删除{word} {code}" for code in old_rows if code not in new_rows]
    return lines or ["无实质变化"]
