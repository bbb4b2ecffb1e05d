"""The completion body of each task kind; its JSON Schema is the task's ``form``."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from api.tasks.models import TaskKind


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcceptTriage(_Body):
    """受理，并分送承办单位"""

    decision: Literal["accept"]
    unit: str = Field(min_length=1, max_length=40)


class RejectTriage(_Body):
    """不予受理（须引用规则集中的依据）"""

    decision: Literal["reject"]
    ground: str = Field(min_length=1, max_length=20)
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
    ground: str = Field(min_length=1, max_length=20)
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
    unit: str | None = Field(default=None, min_length=1, max_length=40)
    handler: str | None = Field(default=None, min_length=1, max_length=60)
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


ADAPTERS: dict[TaskKind, TypeAdapter[Any]] = {
    TaskKind.TRIAGE: TypeAdapter(TriageBody),
    TaskKind.HANDLE: TypeAdapter(HandleBody),
    TaskKind.CALLBACK: TypeAdapter(CallbackBody),
    TaskKind.SUPERVISE: TypeAdapter(SuperviseBody),
    TaskKind.APPROVE_EXTENSION: TypeAdapter(ExtensionDecision),
    TaskKind.VERIFY: TypeAdapter(Verify),
    TaskKind.NOTIFY_REPORTER: TypeAdapter(NotifyReporter),
    TaskKind.INVESTIGATE: TypeAdapter(Investigate),
    TaskKind.REVIEW: TypeAdapter(Review),
}

SCHEMAS: dict[TaskKind, dict[str, Any]] = {k: a.json_schema() for k, a in ADAPTERS.items()}


def parse(kind: TaskKind, body: Any) -> Any:
    """The completion body as its model; raises pydantic.ValidationError."""
    return ADAPTERS[kind].validate_python(body)
