"""Rule sets chosen by received_at, read from the shipped config/rulesets.json."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.rules.rulesets import Ground, Limit, RuleBook

RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "rulesets.json"
CST = timezone(timedelta(hours=8))

REJECT_CODES = [f"R15-{i}" for i in range(1, 7)]
TERMINATE_CODES = [f"T21-{i}" for i in range(1, 8)]


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return RuleBook.load(RULES_FILE)


def test_order_20_governs_until_the_last_minute_before_15_april_2026(book: RuleBook) -> None:
    assert book.for_received(datetime(2026, 4, 14, 23, 59, tzinfo=CST)).code == "samr-order-20"


def test_order_121_governs_from_15_april_2026(book: RuleBook) -> None:
    assert book.for_received(datetime(2026, 4, 15, 0, 0, tzinfo=CST)).code == "samr-order-121"
    assert book.for_received(datetime(2030, 1, 1, tzinfo=CST)).code == "samr-order-121"


def test_the_switch_is_at_midnight_shanghai_whatever_zone_received_at_is_in(
    book: RuleBook,
) -> None:
    # 2026-04-14 16:00 UTC is 2026-04-15 00:00 in Shanghai.
    switch = datetime(2026, 4, 14, 16, 0, tzinfo=UTC)

    assert book.for_received(switch).code == "samr-order-121"
    assert book.for_received(switch - timedelta(seconds=1)).code == "samr-order-20"


def test_naive_received_at_is_refused(book: RuleBook) -> None:
    with pytest.raises(ValueError, match="naive"):
        book.for_received(datetime(2026, 4, 15, 0, 0))


def test_before_any_rule_set_is_refused(book: RuleBook) -> None:
    with pytest.raises(ValueError, match="no rule set"):
        book.for_received(datetime(2019, 12, 31, 23, 59, tzinfo=CST))


@pytest.mark.parametrize("code", ["samr-order-20", "samr-order-121"])
def test_both_rule_sets_have_the_statutory_figures(book: RuleBook, code: str) -> None:
    ruleset = book.by_code(code)

    assert ruleset.limit("triage") == Limit.model_validate({"working_days": 7, "from": "received"})
    assert ruleset.limit("handle").working_days == 45
    assert ruleset.limit("handle").from_ == "accepted"
    assert ruleset.limit("callback_attempts").count == 3
    assert ruleset.limit("investigate").calendar_days == 90
    assert ruleset.limit("investigate").extension_calendar_days == 30


@pytest.mark.parametrize("code", ["samr-order-20", "samr-order-121"])
def test_both_rule_sets_have_the_reject_and_terminate_grounds(book: RuleBook, code: str) -> None:
    ruleset = book.by_code(code)

    assert [g.code for g in ruleset.grounds_of("reject")] == REJECT_CODES
    assert [g.code for g in ruleset.grounds_of("terminate")] == TERMINATE_CODES
    ground = ruleset.ground("terminate", "T21-5")
    assert isinstance(ground, Ground)
    assert ground.article == "第二十一条第五项"
    assert "四十五个工作日" in ground.text


def test_unknown_grounds_and_limits(book: RuleBook) -> None:
    ruleset = book.by_code("samr-order-20")

    assert ruleset.grounds_of("appeal") == []
    assert ruleset.ground("reject", "R99-1") is None
    assert ruleset.ground("appeal", "R15-1") is None
    with pytest.raises(KeyError, match="no limit 'appraisal'"):
        ruleset.limit("appraisal")
    with pytest.raises(KeyError, match="samr-order-999"):
        book.by_code("samr-order-999")


def _minimal(**overrides: object) -> dict[str, object]:
    ruleset: dict[str, object] = {
        "code": "test",
        "name": "测试",
        "effective_from": "2020-01-01T00:00:00+08:00",
        "limits": {"triage": {"working_days": 7, "from": "received"}},
        "grounds": {},
    }
    ruleset.update(overrides)
    return ruleset


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "rulesets.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_keys_starting_with_underscore_are_comments(tmp_path: Path) -> None:
    limits = {"_note": "unverified", "triage": {"working_days": 7, "_why": "第十八条"}}
    data = {"_comment": "x", "rulesets": [_minimal(_comment="y", limits=limits)]}

    book = RuleBook.load(_write(tmp_path, data))

    assert list(book.rulesets[0].limits) == ["triage"]
    assert book.rulesets[0].limit("triage").working_days == 7


def test_a_misspelt_figure_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    data = {"rulesets": [_minimal(limits={"triage": {"working_day": 7}})]}

    with pytest.raises(ValidationError):
        RuleBook.load(_write(tmp_path, data))


def test_naive_effective_from_and_duplicate_codes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        RuleBook.load(
            _write(tmp_path, {"rulesets": [_minimal(effective_from="2020-01-01T00:00:00")]})
        )
    later = _minimal(effective_from="2026-04-15T00:00:00+08:00")
    with pytest.raises(ValidationError):
        RuleBook.load(_write(tmp_path, {"rulesets": [_minimal(), later]}))


@pytest.mark.parametrize(
    "limit",
    [
        {"working_days": 0},
        {"working_days": -7},
        {"calendar_days": 0},
        {"working_days": 15, "extension_working_days": -15},
        {"count": 0},
        {"from": "received"},
        {},
    ],
)
def test_a_limit_without_a_positive_figure_is_refused(limit: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Limit.model_validate(limit)


@pytest.mark.parametrize(
    "ground",
    [
        {"code": "", "article": "第十五条第一项", "text": "x"},
        {"code": "R15-1-a-very-long-code", "article": "第十五条第一项", "text": "x"},
        {"code": "R15-1", "article": "", "text": "x"},
        {"code": "R15-1", "article": "第十五条第一项", "text": ""},
    ],
)
def test_a_ground_that_could_not_be_chosen_or_cited_is_refused(ground: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Ground.model_validate(ground)
