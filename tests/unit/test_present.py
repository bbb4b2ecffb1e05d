"""Dates and deadlines as a clerk reads them (api.pages.present), and a Chinese name for
every code the workplace shows."""

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from api import labels
from api.pages import present
from api.tasks import kinds
from api.workdays import ZONE, WorkingCalendar, deadline_instant

CALENDAR = WorkingCalendar()  # the package's tables: 2026 is published
ROOT = Path(__file__).resolve().parents[2]


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


def test_a_deadline_ending_at_24_00_reads_as_its_last_day() -> None:
    due_at = deadline_instant(date(2026, 11, 13))  # 14 November 00:00
    assert present.last_day(due_at) == date(2026, 11, 13)
    shown = present.due(due_at, now=at(date(2026, 11, 10)), calendar=CALENDAR, warning_days=2)
    assert shown.text == "2026年11月13日止"
    # Tuesday 10th: Wednesday, Thursday and Friday are left (the law counts from tomorrow).
    assert shown.left == "剩余 3 个工作日" and shown.css == ""


def test_the_last_days_are_a_warning_and_the_last_day_says_so() -> None:
    due_at = deadline_instant(date(2026, 11, 13))
    wednesday = present.due(due_at, now=at(date(2026, 11, 11)), calendar=CALENDAR, warning_days=2)
    assert (wednesday.left, wednesday.css) == ("剩余 2 个工作日", "warning")
    tuesday = present.due(due_at, now=at(date(2026, 11, 10)), calendar=CALENDAR, warning_days=2)
    assert tuesday.css == ""
    friday = present.due(due_at, now=at(date(2026, 11, 13), 23), calendar=CALENDAR, warning_days=2)
    assert (friday.left, friday.css) == ("今日到期", "warning")


def test_overdue_counts_working_days_past_the_last_day() -> None:
    due_at = deadline_instant(date(2026, 11, 13))  # a Friday
    saturday = present.due(due_at, now=at(date(2026, 11, 14)), calendar=CALENDAR, warning_days=2)
    assert (saturday.left, saturday.css) == ("已超期", "overdue")
    tuesday = present.due(due_at, now=at(date(2026, 11, 17)), calendar=CALENDAR, warning_days=2)
    assert (tuesday.left, tuesday.css) == ("已超期 2 个工作日", "overdue")
    assert tuesday.working_days_left == -2


def test_holidays_do_not_count_as_days_left() -> None:
    # 2026's National Day holiday runs 1 to 7 October (8 October is a working day).
    due_at = deadline_instant(date(2026, 10, 9))
    shown = present.due(due_at, now=at(date(2026, 9, 30)), calendar=CALENDAR, warning_days=2)
    assert shown.left == "剩余 2 个工作日"  # 8 and 9 October


def test_met_paused_and_provisional_deadlines() -> None:
    due_at = deadline_instant(date(2027, 3, 5))
    now = at(date(2026, 11, 10))
    met = present.due(due_at, now=now, calendar=CALENDAR, warning_days=2, state="met")
    assert (met.left, met.css) == ("按期完成", "done")
    paused = present.due(due_at, now=now, calendar=CALENDAR, warning_days=2, state="paused")
    assert paused.left == "中止计时"
    ahead = present.due(due_at, now=now, calendar=CALENDAR, warning_days=2, provisional=True)
    assert ahead.provisional and ahead.text == "2027年3月5日止"


def test_moments_are_local_and_written_in_chinese() -> None:
    instant = datetime.fromisoformat("2026-11-13T06:05:00+00:00")
    assert present.moment(instant) == "2026年11月13日 14:05"
    assert present.day(None) == "—"


def test_every_error_code_the_api_raises_has_a_chinese_message() -> None:
    raised: set[str] = set()
    pattern = re.compile(
        r"(?:Refused|Conflict|NotAllowed|NotFound|ApiError|conflict|invalid)\(\s*"
        r"(?:\d+,\s*)?\"([a-z_]+\.[a-z_.]+)\""
    )
    for path in (ROOT / "api").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        raised |= set(pattern.findall(text))
        raised |= set(re.findall(r'code="([a-z_]+\.[a-z_.]+)"', text))
    assert len(raised) > 30
    missing = sorted(c for c in raised if c not in labels.ERROR)
    assert missing == []


def test_every_task_kind_and_its_form_choices_have_chinese_names() -> None:
    missing = []
    for kind, schema in kinds.SCHEMAS.items():
        assert kinds.LABELS[kind.value]
        models = schema.get("$defs", {}).values() if "oneOf" in schema else [schema]
        for model in models:
            for key, prop in model["properties"].items():
                if key not in labels.FIELD:
                    missing.append(f"{kind}.{key}")
                plain = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
                for option in plain:
                    for value in option.get("enum", []) + [option.get("const")]:
                        if value is not None and value not in labels.CHOICE:
                            missing.append(f"{kind}.{key}={value}")
    assert missing == []


def test_every_outcome_a_case_or_a_ladder_ends_with_has_a_chinese_name() -> None:
    from api.mediation.ladder import MOVES, Outcome

    rung_outcomes = {m.rung_outcome for moves in MOVES.values() for m in moves.values()}
    missing = [o for o in {*Outcome, *rung_outcomes} - {None} if o not in labels.CHOICE]
    assert missing == []


def _sources() -> Any:
    from api.config import Settings
    from api.pages import forms
    from api.rules.service import rulebook

    rule_set = rulebook(Settings().rules_file).rulesets[0]
    return forms.Sources(rule_set=rule_set, branches={}, handlers=[], committees={})


def test_every_task_kind_has_a_form_with_a_labelled_choice_for_each_value() -> None:
    from api.pages import forms

    for kind, schema in kinds.SCHEMAS.items():
        form = forms.build(schema, _sources())
        assert all(c.label for c in form.choices), kind
        values = [c.value for c in form.choices]
        assert len(values) == len(set(values)), kind
        if kind == "court_outcome":
            assert values == [
                "judgment", "court_mediation", "lawsuit_withdrawn", "not_sued", "entrusted"
            ]  # fmt: skip


def test_every_choice_of_a_ladder_form_names_a_move_of_its_stage() -> None:
    """The form's choices (or their 下一步) are read as the ladder's moves, to refuse an
    illegal one before it is sent: each must be a move the stage has."""
    from api.mediation.ladder import MOVES
    from api.mediation.steps import WORK
    from api.pages import forms

    sources = _sources()
    strange: list[str] = []
    for stage, kind in WORK.items():
        form = forms.build(kinds.SCHEMAS[kind], sources)
        forms.refuse_moves(form, lambda move, s=stage: "" if move in MOVES[s] else move)
        for choice in form.choices:
            strange += [f"{kind}:{choice.refused}"] if choice.refused else []
            for f in choice.fields:
                strange += [f"{kind}:{o.refused}" for o in f.options if o.refused]
    assert strange == []
