"""The registration form (登记): a complaint, a report, or a complaint that reports too.

What is posted becomes the body ``POST /api/v1/cases`` takes (``CaseCreate``) and goes
through the same registration; its errors come back beside their fields. Each form carries
a fresh ``client_ref``, so a double click, or the same form sent again, registers once."""

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlmodel import Session

from api import labels
from api.campaigns import service as campaigns
from api.casefile.lifecycle import Channel
from api.cases.models import CaseCreate
from api.config import Settings
from api.units import service as units
from api.units.models import UnitKind
from api.users.models import Role, User
from api.workdays import ZONE

PARTY = ("name", "phone", "id_number", "address")
RESPONDENT = ("name", "district", "address", "phone")

LABEL = {
    "kind": "登记类型",
    "channel": "来源渠道",
    "received_at": "收到时间",
    "complainant.name": "投诉人姓名",
    "complainant.phone": "投诉人电话",
    "complainant.id_number": "投诉人身份证号",
    "complainant.address": "投诉人地址",
    "reporter.name": "举报人姓名",
    "reporter.phone": "举报人电话",
    "reporter.id_number": "举报人身份证号",
    "reporter.address": "举报人地址",
    "anonymous": "匿名举报",
    "respondent.name": "被投诉（举报）人名称",
    "respondent.district": "被投诉（举报）人所在区县",
    "respondent.address": "被投诉（举报）人地址",
    "respondent.phone": "被投诉（举报）人电话",
    "category": "类别",
    "description": "事由",
    "claim": "诉求",
    "campaign": "专项整治",
    "sender.authority": "交办（转办）机关",
    "sender.reference": "交办文号",
    "sender.due_date": "交办机关要求的办结日期",
}

KINDS = {"complaint": "投诉", "both": "投诉并举报（另登记一件关联举报）", "report": "举报"}

# The registration's own rules (their English messages), as the form shows them.
_RULES = {
    "a complaint needs it": ("complainant.name", "投诉须填写投诉人"),
    "reporter and anonymous are for reports": ("reporter.name", "投诉不填写举报人"),
    "a report has a reporter, not a complainant": ("complainant.name", "举报不填写投诉人"),
    "a report has either a reporter": ("reporter.name", "请填写举报人，或勾选匿名举报（二者选一）"),
    "received_at may not be in the future": ("received_at", "收到时间不能晚于现在"),
    "needs a time zone": ("received_at", "请填写有效的日期和时间"),
    "needs its sender": ("sender.authority", "上级交办或外部转办须填写交办机关和办结日期"),
    "sender is only for": ("sender.authority", "只有上级交办或外部转办才填写交办机关"),
    "may not be blank": ("description", "必填"),
    "unknown campaign": ("campaign", "不是现有的专项整治"),
    "a station registers with the channel station": ("channel", "维权服务站登记须选择“维权服务站”"),
}


def channels(user: User) -> dict[str, str]:
    if user.role == Role.STATION:
        return {Channel.STATION.value: labels.CHANNEL[Channel.STATION.value]}
    return {c.value: labels.CHANNEL[c.value] for c in Channel if c != Channel.EX_OFFICIO}


def context(*, session: Session, settings: Settings, user: User) -> dict[str, Any]:
    """What the form offers: channels, districts (each with the branch suggested for it),
    campaigns, and a fresh client_ref."""
    suggest = {
        district: unit.name
        for unit in units.list_all(session=session)
        if unit.kind == UnitKind.BRANCH
        for district in unit.districts
    }
    return {
        "kinds": KINDS,
        "channels": channels(user),
        "districts": suggest,
        "campaigns": campaigns.names(session),
        "label": LABEL,
        "client_ref": uuid4().hex,
    }


def body(posted: dict[str, str]) -> dict[str, Any]:
    """The registration body from the form: empty fields left out."""

    def value(name: str) -> str | None:
        found = posted.get(name, "").strip()
        return found or None

    def party(prefix: str, keys: tuple[str, ...]) -> dict[str, str] | None:
        found = {k: v for k in keys if (v := value(f"{prefix}.{k}")) is not None}
        return found or None

    kind = posted.get("kind", "complaint")
    result: dict[str, Any] = {
        "kind": "report" if kind == "report" else "complaint",
        "also_report": kind == "both",
        "channel": value("channel"),
        "respondent": party("respondent", RESPONDENT) or {},
        "description": posted.get("description", ""),
        "client_ref": value("client_ref"),
    }
    received = value("received_at")
    if received is not None:
        try:
            moment = datetime.fromisoformat(received)
            result["received_at"] = moment if moment.tzinfo else moment.replace(tzinfo=ZONE)
        except ValueError:
            result["received_at"] = received  # refused by the model, beside the field
    for key in ("category", "claim", "campaign"):
        if value(key) is not None:
            result[key] = value(key)
    if result["kind"] == "complaint":
        result["complainant"] = party("complainant", PARTY)
    else:
        result["anonymous"] = posted.get("anonymous") == "on"
        result["reporter"] = party("reporter", PARTY)
    sender = party("sender", ("authority", "reference", "due_date"))
    if sender is not None:
        result["sender"] = sender
    return result


def parse(data: dict[str, Any]) -> CaseCreate:
    """The body as the API's model; raises ValidationError."""
    return CaseCreate.model_validate(data)


def errors_by_field(errors: list[dict[str, Any]]) -> tuple[dict[str, str], str]:
    """A 422's errors (the model's, or the registration's checks) by the form's field
    names, and an error of the whole form if one names no field."""
    fields: dict[str, str] = {}
    general = ""
    for error in errors:
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        message = str(error.get("msg", ""))
        rule = next((found for start, found in _RULES.items() if start in message), None)
        if rule is not None and (not loc or loc[0] in rule[0]):
            name, text = rule
        else:
            name = ".".join(loc)
            text = labels.FIELD_ERROR.get(str(error.get("type")), "填写有误")
        if name in LABEL:
            fields.setdefault(name, text)
        elif name.split(".")[0] in ("complainant", "reporter", "respondent", "sender"):
            fields.setdefault(f"{name.split('.')[0]}.name", text)
        else:
            general = general or text
    return fields, general
