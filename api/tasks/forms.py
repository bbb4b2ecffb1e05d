"""The completion bodies of the task kinds (``api.tasks.kinds`` says which is whose)."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator


def _choices(source: str) -> dict[str, JsonValue]:
    """Where a field's allowed values come from (the workplace offers them as choices):
    ``branch`` units, the case's ``handler``s, ``committee``s, ``ground:<kind>``, the
    grounds of that kind in the case's rule set, or ``station:<host type>``, the task's
    unit's open 12315 五进 stations of that host type. The step checks them all the same."""
    return {"x-choices": source}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcceptTriage(_Body):
    """受理，并分送承办单位"""

    decision: Literal["accept"]
    unit: str = Field(min_length=1, max_length=40, json_schema_extra=_choices("branch"))


class RejectTriage(_Body):
    """不予受理（须引用规则集中的依据）"""

    decision: Literal["reject"]
    ground: str = Field(min_length=1, max_length=20, json_schema_extra=_choices("ground:reject"))
    reason: str = Field(min_length=1, max_length=5000)


class ReferTriage(_Body):
    """移送其他部门"""

    decision: Literal["refer"]
    to: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=5000)


TriageBody = Annotated[AcceptTriage | RejectTriage | ReferTriage, Field(discriminator="decision")]


class Agreement(_Body):
    """调解成功，达成协议"""

    outcome: Literal["agreement"]
    summary: str = Field(min_length=1, max_length=10000)
    amount_recovered: Decimal = Field(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)
    reply: str = Field(min_length=1, max_length=10000)


class Termination(_Body):
    """终止调解（须引用规则集中的依据）"""

    outcome: Literal["terminated"]
    ground: str = Field(min_length=1, max_length=20, json_schema_extra=_choices("ground:terminate"))
    reply: str = Field(min_length=1, max_length=10000)


class Return(_Body):
    """退回：非本单位管辖，退回受理审查"""

    outcome: Literal["return"]
    reason: str = Field(min_length=1, max_length=5000)


HandleBody = Annotated[Agreement | Termination | Return, Field(discriminator="outcome")]


class CallbackBody(_Body):
    """回访结果：联系上则须填写满意度"""

    reached: bool
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"] | None = None
    comment: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _satisfaction_when_reached(self) -> "CallbackBody":
        if self.reached and self.satisfaction is None:
            raise ValueError("satisfaction is required when the complainant was reached")
        if not self.reached and self.satisfaction is not None:
            raise ValueError("satisfaction cannot be given when the complainant was not reached")
        return self


class Urge(_Body):
    """催办"""

    action: Literal["urge"]
    note: str | None = Field(default=None, max_length=5000)


class Extend(_Body):
    """延期（督办人批准）"""

    action: Literal["extend"]
    working_days: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=5000)


class Reassign(_Body):
    """改派：另一承办单位，或本单位另一承办人"""

    action: Literal["reassign"]
    unit: str | None = Field(
        default=None, min_length=1, max_length=40, json_schema_extra=_choices("branch")
    )
    handler: str | None = Field(
        default=None, min_length=1, max_length=60, json_schema_extra=_choices("handler")
    )
    reason: str = Field(min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _one_target(self) -> "Reassign":
        if (self.unit is None) == (self.handler is None):
            raise ValueError("give either unit or handler to reassign to")
        return self


SuperviseBody = Annotated[Urge | Extend | Reassign, Field(discriminator="action")]


class ExtensionDecision(_Body):
    """延期审批：批准或不批准"""

    approve: bool
    reason: str = Field(min_length=1, max_length=5000)


class Verify(_Body):
    """核查结论：立案或不予立案"""

    decision: Literal["file", "no_file"]
    reason: str = Field(min_length=1, max_length=5000)


class NotifyReporter(_Body):
    """告知实名举报人（立案或不予立案）"""

    channel: Literal["phone", "sms", "letter", "in_person", "online"]
    note: str | None = Field(default=None, max_length=5000)


class Investigate(_Body):
    """调查终结：处罚、未发现违法、移送"""

    decision: Literal["penalty", "no_violation", "transfer"]
    summary: str = Field(min_length=1, max_length=10000)


class Review(_Body):
    """回访不满意：退回重办，或确认办结"""

    decision: Literal["redo", "confirm"]
    reason: str = Field(min_length=1, max_length=5000)


class PublishBulletin(_Body):
    """发布通报（以草稿现有的前言和通报批评发布；发布后不可更改）"""

    decision: Literal["publish"]


# --- the plan's duties (示范点, 整改) -------------------------------------------------------


def _site(host: str) -> Any:
    return Field(min_length=1, max_length=40, json_schema_extra=_choices(f"station:{host}"))


class NameSites(_Body):
    """申报本年度12315五进示范点：每类一个本单位在册站点"""

    supermarket: str = _site("supermarket")
    mall: str = _site("mall")
    market: str = _site("market")
    enterprise: str = _site("enterprise")
    scenic: str = _site("scenic")
    note: str | None = Field(default=None, max_length=2000)


class ApproveSites(_Body):
    """确认示范点名单"""

    decision: Literal["approve"]
    note: str | None = Field(default=None, max_length=2000)


class ReturnSites(_Body):
    """退回重报（写明理由）"""

    decision: Literal["send_back"]
    reason: str = Field(min_length=1, max_length=5000)


ReviewSitesBody = Annotated[ApproveSites | ReturnSites, Field(discriminator="decision")]


class Rectified(_Body):
    """整改完成：整改措施与完成日期"""

    summary: str = Field(min_length=1, max_length=10000)
    done_on: date


class Delisted(_Body):
    """退市完成：下架（退市）数量与完成日期"""

    quantity: int = Field(ge=0, le=10_000_000)
    done_on: date
    note: str | None = Field(default=None, max_length=5000)


class CampaignMeasures(_Body):
    """说明进度落后的原因和下一步措施"""

    measures: str = Field(min_length=1, max_length=5000)


# --- the mediation ladder -----------------------------------------------------------------

Channel = Literal["phone", "sms", "letter", "in_person", "online"]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class Settled(_Body):
    """和解成功：商家与消费者自行和解"""

    outcome: Literal["settled"]
    summary: str = Field(min_length=1, max_length=10000)
    amount_recovered: Amount = Decimal(0)


class NotSettled(_Body):
    """和解不成：转12315指挥中心受理审查"""

    outcome: Literal["not_settled"]
    reason: str = Field(min_length=1, max_length=5000)


ReconcileBody = Annotated[Settled | NotSettled, Field(discriminator="outcome")]


class TerminationNotice(_Body):
    """终止调解告知：如何告知双方，以及下一步（结束、人民调解、诉讼引导）"""

    complainant: Channel = Field(description="how the complainant was told")
    respondent: Channel = Field(description="how the respondent was told")
    told_on: date
    next: Literal["end", "people", "litigation"]
    committee: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="for next=people",
        json_schema_extra=_choices("committee"),
    )
    note: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _committee_for_people(self) -> "TerminationNotice":
        _committee_iff_people(self.next, self.committee)
        return self


class CommitteeAgreement(_Body):
    """人民调解达成协议（签字即生效）"""

    result: Literal["agreement"]
    signed_on: date
    summary: str = Field(min_length=1, max_length=10000)
    amount_recovered: Amount = Decimal(0)


class CommitteeFailed(_Body):
    """人民调解未达成协议：结束，或诉讼引导"""

    result: Literal["failed"]
    reason: str = Field(min_length=1, max_length=5000)
    next: Literal["end", "litigation"]


CommitteeResultBody = Annotated[CommitteeAgreement | CommitteeFailed, Field(discriminator="result")]


class JudicialApplied(_Body):
    """双方已共同向人民法院申请司法确认"""

    decision: Literal["applied"]
    court: str = Field(min_length=1, max_length=200)
    applied_on: date


class JudicialDeclined(_Body):
    """双方不申请司法确认"""

    decision: Literal["declined"]
    note: str | None = Field(default=None, max_length=5000)


JudicialApplicationBody = Annotated[
    JudicialApplied | JudicialDeclined, Field(discriminator="decision")
]


class RulingConfirmed(_Body):
    """法院裁定调解协议有效（可申请强制执行）"""

    ruling: Literal["confirmed"]
    ruling_no: str = Field(min_length=1, max_length=100)
    ruled_on: date


class RulingInvalid(_Body):
    """法院裁定驳回申请：重新人民调解、诉讼引导，或结束"""

    ruling: Literal["invalid"]
    ruling_no: str | None = Field(default=None, max_length=100)
    ruled_on: date
    reason: str = Field(min_length=1, max_length=5000)
    next: Literal["people", "litigation", "end"]
    committee: str | None = Field(
        default=None, min_length=1, max_length=40, json_schema_extra=_choices("committee")
    )

    @model_validator(mode="after")
    def _committee_for_people(self) -> "RulingInvalid":
        _committee_iff_people(self.next, self.committee)
        return self


CourtRulingBody = Annotated[RulingConfirmed | RulingInvalid, Field(discriminator="ruling")]


class CourtDecided(_Body):
    """诉讼结果：判决、法院调解、撤诉，或消费者未起诉"""

    outcome: Literal["judgment", "court_mediation", "lawsuit_withdrawn", "not_sued"]
    summary: str = Field(min_length=1, max_length=10000)
    amount_recovered: Amount = Decimal(0)


class CourtEntrusted(_Body):
    """法院委托调解：回到行政调解或人民调解，期限由法院确定"""

    outcome: Literal["entrusted"]
    rung: Literal["administrative", "people"]
    due_on: date = Field(description="the last day the court set for the mediation")
    court_ref: str | None = Field(default=None, max_length=100)
    committee: str | None = Field(
        default=None, min_length=1, max_length=40, json_schema_extra=_choices("committee")
    )

    @model_validator(mode="after")
    def _committee_for_people(self) -> "CourtEntrusted":
        _committee_iff_people("people" if self.rung == "people" else "", self.committee)
        return self


CourtOutcomeBody = Annotated[CourtDecided | CourtEntrusted, Field(discriminator="outcome")]


def _committee_iff_people(next_: str, committee: str | None) -> None:
    if next_ == "people" and committee is None:
        raise ValueError("people's mediation needs the committee it goes to")
    if next_ != "people" and committee is not None:
        raise ValueError("a committee is only for people's mediation")


def decision(body: BaseModel) -> str:
    """The move a ladder task's body makes (``api.mediation.ladder.MOVES``)."""
    match body:
        case Settled() | NotSettled() | CourtDecided():
            return body.outcome
        case Agreement():
            return "agreement"
        case Termination():
            return "terminated"
        case Return():
            return "return"
        case TerminationNotice():
            return body.next
        case CommitteeAgreement():
            return "agreement"
        case CommitteeFailed() | RulingInvalid():
            return body.next
        case JudicialApplied() | JudicialDeclined():
            return body.decision
        case RulingConfirmed():
            return "confirmed"
        case CourtEntrusted():
            return f"entrusted_{body.rung}"
    raise ValueError(f"{type(body).__name__} is not a step of the mediation ladder")
