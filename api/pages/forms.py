"""Task forms generated from the completion models (``api.tasks.kinds``), and the way back:
a posted form as the completion body, and the errors of that body beside their fields.

A kind whose body is a union (accept / reject / refer) shows its choice as radio buttons,
each labelled with its model's docstring, and each choice's fields in a fieldset of their
own, named ``<choice>.<field>``: what was typed for one choice is kept while another is
tried. A ground is chosen from the grounds of the case's rule set, each shown with its
article and statutory text; a unit, a handler or a committee from those that exist. The
body is then parsed and checked by the same code as the JSON route's."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from api import labels
from api.rules.rulesets import RuleSet


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    detail: str = ""  # a ground's article and text
    refused: str = ""  # why the law does not allow it now (it cannot be chosen)


@dataclass
class Field:
    name: str  # the form's input name: <choice>.<field>, or <field>
    key: str  # the body's key
    label: str
    widget: str  # text | textarea | number | money | date | select | radio | yesno
    required: bool
    options: list[Option] = field(default_factory=list)
    value: str = ""
    error: str = ""


@dataclass
class Choice:
    value: str  # the discriminator's value, or "" for a form of one model
    label: str
    fields: list[Field]
    error: str = ""
    refused: str = ""  # why the law does not allow it now (it cannot be chosen)


@dataclass
class Form:
    tag: str | None  # the discriminator's key (decision, outcome, ...), None for one model
    tag_label: str
    choices: list[Choice]
    chosen: str = ""
    error: str = ""  # an error of the whole form, shown at its top

    def field(self, name: str) -> Field | None:
        for choice in self.choices:
            for f in choice.fields:
                if f.name == name:
                    return f
        return None


@dataclass(frozen=True)
class Sources:
    """The values a field's ``x-choices`` names, for this case."""

    rule_set: RuleSet
    branches: dict[str, str]  # code -> name
    handlers: list[str]
    committees: dict[str, str]
    # The task's unit's open 12315 五进 stations: host type → (code, name) of each.
    stations: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def _models(schema: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    if "oneOf" in schema:
        defs = schema["$defs"]
        tag = schema["discriminator"]["propertyName"]
        return tag, [defs[ref["$ref"].rsplit("/", 1)[1]] for ref in schema["oneOf"]]
    return None, [schema]


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional property's own schema (``anyOf`` with null left out)."""
    if "anyOf" in prop:
        kinds = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(kinds) == 1:
            return {**prop, **kinds[0]}
        if any(p.get("type") == "number" for p in kinds):
            return {**prop, "type": "money"}
    return prop


def _field(name: str, key: str, prop: dict[str, Any], required: bool, src: Sources) -> Field:
    prop = _plain(prop)
    label = labels.FIELD.get(key, key)
    source = prop.get("x-choices")
    if source is not None:
        options = _options(source, src)
        widget = "radio" if source.startswith("ground:") else "select"
        return Field(name, key, label, widget, required, options)
    if "enum" in prop:
        options = [Option(v, labels.CHOICE.get(v, v)) for v in prop["enum"]]
        return Field(name, key, label, "select", required, options)
    kind = prop.get("type")
    if kind == "boolean":
        options = [Option("true", "是"), Option("false", "否")]
        return Field(name, key, label, "yesno", required, options)
    if kind == "integer":
        return Field(name, key, label, "number", required)
    if kind == "money":
        return Field(name, key, label, "money", required)
    if prop.get("format") == "date":
        return Field(name, key, label, "date", required)
    long = prop.get("maxLength", 0) > 200
    return Field(name, key, label, "textarea" if long else "text", required)


def _options(source: str, src: Sources) -> list[Option]:
    if source.startswith("ground:"):
        grounds = src.rule_set.grounds_of(source.split(":", 1)[1])
        return [Option(g.code, g.article, g.text) for g in grounds]
    if source == "branch":
        return [Option(code, name) for code, name in src.branches.items()]
    if source == "handler":
        return [Option(h, h) for h in src.handlers]
    if source == "committee":
        return [Option(code, name) for code, name in src.committees.items()]
    if source.startswith("station:"):
        return [Option(code, name) for code, name in src.stations.get(source[8:], [])]
    raise ValueError(f"unknown choices source {source}")


def _tag_values(prop: dict[str, Any]) -> list[str]:
    if "const" in prop:
        return [prop["const"]]
    return list(prop["enum"])


def build(schema: dict[str, Any], src: Sources) -> Form:
    """The form of a completion schema (a task's ``form``), empty."""
    tag, models = _models(schema)
    choices = []
    for model in models:
        # One choice per value of the discriminator: a model may take several (法院判决,
        # 法院调解, …), each its own choice with the model's fields.
        values = _tag_values(model["properties"][tag]) if tag else [""]
        for value in values:
            fields = [
                _field(
                    f"{value}.{key}" if tag else key,
                    key,
                    prop,
                    key in model.get("required", []),
                    src,
                )
                for key, prop in model["properties"].items()
                if key != tag
            ]
            label = model.get("description", "")
            if len(values) > 1:
                label = labels.CHOICE.get(value, value)
            choices.append(Choice(value, label, fields))
    return Form(tag, labels.FIELD.get(tag, "处理决定") if tag else "", choices)


def fill(form: Form, posted: dict[str, str]) -> dict[str, Any]:
    """Puts what was posted into the form (to show it again) and returns the body: the
    chosen model's fields, those left empty out (so a required one is reported missing)."""
    form.chosen = posted.get("choice", "") if form.tag else ""
    body: dict[str, Any] = {}
    if form.tag:
        if not form.chosen:
            form.error = "请选择" + form.tag_label
        body[form.tag] = form.chosen
    for choice in form.choices:
        for f in choice.fields:
            f.value = posted.get(f.name, "").strip()
            if choice.value == form.chosen and f.value != "":
                body[f.key] = f.value
    return body


# Model-level rules (their loc names no field): the field they are about, in Chinese.
_RULES = {
    "satisfaction is required": ("satisfaction", "联系上投诉人时须选择满意度"),
    "satisfaction cannot be given": ("satisfaction", "未联系上投诉人时不填满意度"),
    "give either unit or handler": ("unit", "请选择改派的承办单位或承办人（二者选一）"),
    "people's mediation needs the committee": ("committee", "人民调解须选择人民调解委员会"),
    "a committee is only for people's mediation": ("committee", "只有人民调解才选择委员会"),
    "unknown branch unit": ("unit", "不是本市的承办单位"),
    "the case is already with": ("unit", "案件已由该单位承办"),
    "is not a handler of": ("handler", "不是承办单位的承办人"),
    "unknown non-acceptance ground": ("ground", "不是本案适用规则集中的不予受理依据"),
    "unknown termination ground": ("ground", "不是本案适用规则集中的终止调解依据"),
}


def _rule(message: str) -> tuple[str, str] | None:
    for start, found in _RULES.items():
        if start in message:
            return found
    return None


def show_errors(form: Form, errors: list[dict[str, Any]]) -> None:
    """Puts a 422's errors (pydantic's, or the service's checks) beside their fields."""
    prefix = f"{form.chosen}." if form.tag else ""
    for error in errors:
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        if form.tag and loc and loc[0] == form.chosen:
            loc = loc[1:]
        message = str(error.get("msg", ""))
        rule = _rule(message)
        key = loc[0] if loc else (rule[0] if rule else None)
        if error.get("message"):
            text = str(error["message"])
        elif rule is not None:
            text = rule[1]
        else:
            text = labels.FIELD_ERROR.get(str(error.get("type")), "填写有误")
        target = form.field(prefix + key) if key else None
        if target is not None:
            target.error = target.error or text
        elif key == form.tag:
            form.error = form.error or "请选择" + form.tag_label
        else:
            form.error = form.error or text
    if not form.error:
        form.error = labels.ERROR["request.invalid"]


def refuse_moves(form: Form, why_not: Callable[[str], str]) -> None:
    """Marks each choice of a ladder form that the law does not allow now, with the reason
    ``why_not`` gives for its move (``""``: allowed), so it cannot be chosen. A choice's
    move is its ``next`` or ``rung`` field when it has one, or else the choice itself."""
    for choice in form.choices:
        onward = next((f for f in choice.fields if f.key in ("next", "rung")), None)
        if onward is None:
            choice.refused = why_not(choice.value)
            continue
        prefix = "entrusted_" if onward.key == "rung" else ""
        onward.options = [replace(o, refused=why_not(prefix + o.value)) for o in onward.options]
