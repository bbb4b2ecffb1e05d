"""Rule sets (规则集): statutory time limits and ground codes, as editable data.

A case is governed by the rule set in force when it was received: SAMR Order 20 before
2026-04-15, SAMR Order 121 from then on. The figures live in ``config/rulesets.json``.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A misspelt key would otherwise silently drop a statutory figure, so unknown keys are refused.
_STRICT = ConfigDict(extra="forbid", frozen=True)


class Limit(BaseModel):
    """One time limit (期限), e.g. triage 7 working days from receipt."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # A zero or negative figure would set a deadline on (or before) the day of receipt.
    working_days: int | None = Field(None, gt=0)
    calendar_days: int | None = Field(None, gt=0)
    extension_working_days: int | None = Field(None, gt=0)
    extension_calendar_days: int | None = Field(None, gt=0)
    count: int | None = Field(None, gt=0)
    from_: str | None = Field(None, alias="from", min_length=1)  # the event the clock starts from
    # The termination ground (of ``grounds.terminate``) recorded when the limit ends the
    # step by itself: administrative mediation past its 45 working days.
    expiry_ground: str | None = Field(None, min_length=1, max_length=20)

    @model_validator(mode="after")
    def _has_a_figure(self) -> "Limit":
        if self.working_days is None and self.calendar_days is None and self.count is None:
            raise ValueError("a limit needs working_days, calendar_days or count")
        return self


class Ground(BaseModel):
    """A statutory ground (理由), e.g. for non-acceptance (不予受理) or termination (终止调解)."""

    model_config = _STRICT

    # As long as a completion form accepts, or the code could never be chosen.
    code: str = Field(min_length=1, max_length=20)
    article: str = Field(min_length=1)
    text: str = Field(min_length=1)


class RuleSet(BaseModel):
    """One statutory regime: its time limits by name and its ground codes by kind."""

    model_config = _STRICT

    # The lengths of the rule-set table's columns.
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    effective_from: datetime
    limits: dict[str, Limit]
    grounds: dict[str, list[Ground]]

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("effective_from needs a time zone, e.g. +08:00")
        return value

    @model_validator(mode="after")
    def _unique_ground_codes(self) -> "RuleSet":
        for kind, grounds in self.grounds.items():
            codes = [g.code for g in grounds]
            if len(codes) != len(set(codes)):
                raise ValueError(f"rule set {self.code}: duplicate ground codes in {kind!r}")
        return self

    @model_validator(mode="after")
    def _expiry_grounds_exist(self) -> "RuleSet":
        for name, limit in self.limits.items():
            if limit.expiry_ground and self.ground("terminate", limit.expiry_ground) is None:
                raise ValueError(
                    f"rule set {self.code}: the expiry_ground {limit.expiry_ground!r} of "
                    f"{name} is not one of its terminate grounds"
                )
        return self

    def limit(self, name: str) -> Limit:
        try:
            return self.limits[name]
        except KeyError:
            raise KeyError(
                f"rule set {self.code} has no limit {name!r}; it has {sorted(self.limits)}"
            ) from None

    def grounds_of(self, kind: str) -> list[Ground]:
        return list(self.grounds.get(kind, []))

    def ground(self, kind: str, code: str) -> Ground | None:
        return next((g for g in self.grounds_of(kind) if g.code == code), None)


class RuleBook(BaseModel):
    """All rule sets; the one in force for a case is chosen by its received_at."""

    model_config = _STRICT

    rulesets: list[RuleSet]

    @model_validator(mode="after")
    def _unique(self) -> "RuleBook":
        codes = [r.code for r in self.rulesets]
        if len(codes) != len(set(codes)):
            raise ValueError(f"duplicate rule set codes: {codes}")
        starts = [r.effective_from for r in self.rulesets]
        if len(starts) != len(set(starts)):
            raise ValueError("two rule sets take effect at the same instant")
        return self

    @classmethod
    def load(cls, path: Path) -> "RuleBook":
        """Read the JSON file; keys starting with "_" (comments) are ignored at any depth."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.model_validate(_without_comments(data))

    def for_received(self, received_at: datetime) -> RuleSet:
        """The rule set in force at `received_at`: the latest one effective at or before it."""
        if received_at.tzinfo is None or received_at.utcoffset() is None:
            raise ValueError(f"naive datetime {received_at!r}: a time zone is required")
        in_force = [r for r in self.rulesets if r.effective_from <= received_at]
        if not in_force:
            raise ValueError(f"no rule set was in force at {received_at.isoformat()}")
        return max(in_force, key=lambda r: r.effective_from)

    def by_code(self, code: str) -> RuleSet:
        for ruleset in self.rulesets:
            if ruleset.code == code:
                return ruleset
        raise KeyError(f"no rule set {code!r}; known: {[r.code for r in self.rulesets]}")


def _without_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_comments(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("_"))
        }
    if isinstance(value, list):
        return [_without_comments(v) for v in value]
    return value
