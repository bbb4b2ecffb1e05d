"""The mediation ladder (api/mediation/ladder.py), with no database and no Temporal:
where each decision leads, what it needs and what it ends with, and that every completion
body of a ladder task is a move the ladder can take where that task is worked."""

from typing import Any, get_args

import pytest

from api.deadlines.models import DeadlinePolicy
from api.mediation import steps
from api.mediation.ladder import (
    EXPIRES,
    LEVEL,
    MOVES,
    OPENS_RUNG,
    RUNG_OF,
    Consent,
    ConsentRecord,
    IllegalMove,
    Outcome,
    Party,
    Rung,
    Stage,
    entry_stage,
    missing_consent,
    move,
)
from api.tasks import forms, kinds
from api.tasks.models import TaskKind

# --- where each move leads ---------------------------------------------------------------

ROUTES = [
    (Stage.RECONCILING, "settled", Stage.ENDED),  # 和解成功
    (Stage.RECONCILING, "not_settled", Stage.ENDED),  # 和解不成，转12315受理
    (Stage.RECONCILING, "expired", Stage.ENDED),  # 和解期满
    (Stage.MEDIATING, "agreement", Stage.ENDED),  # 达成调解协议
    (Stage.MEDIATING, "terminated", Stage.NOTIFYING),  # 终止调解，须告知双方
    (Stage.MEDIATING, "expired", Stage.NOTIFYING),  # 四十五个工作日期满，终止调解
    (Stage.MEDIATING, "return", Stage.ENDED),  # 退回：非本单位管辖
    (Stage.NOTIFYING, "end", Stage.ENDED),  # 告知后结束
    (Stage.NOTIFYING, "people", Stage.COMMITTEE),  # 转人民调解
    (Stage.NOTIFYING, "litigation", Stage.LITIGATING),  # 诉讼引导
    (Stage.COMMITTEE, "agreement", Stage.WINDOW),  # 人民调解协议，可申请司法确认
    (Stage.COMMITTEE, "end", Stage.ENDED),  # 人民调解未达成协议
    (Stage.COMMITTEE, "litigation", Stage.LITIGATING),
    (Stage.WINDOW, "applied", Stage.CONFIRMING),  # 共同申请司法确认
    (Stage.WINDOW, "declined", Stage.ENDED),  # 不申请：协议仍有合同效力
    (Stage.WINDOW, "expired", Stage.ENDED),  # 三十日申请期满
    (Stage.CONFIRMING, "confirmed", Stage.ENDED),  # 裁定有效
    (Stage.CONFIRMING, "people", Stage.COMMITTEE),  # 确认无效：重新人民调解
    (Stage.CONFIRMING, "litigation", Stage.LITIGATING),  # 确认无效：起诉
    (Stage.CONFIRMING, "end", Stage.ENDED),  # 确认无效：结束
    (Stage.LITIGATING, "judgment", Stage.ENDED),  # 判决
    (Stage.LITIGATING, "court_mediation", Stage.ENDED),  # 法院调解
    (Stage.LITIGATING, "lawsuit_withdrawn", Stage.ENDED),  # 撤诉
    (Stage.LITIGATING, "not_sued", Stage.ENDED),  # 未起诉
    (Stage.LITIGATING, "entrusted_administrative", Stage.MEDIATING),  # 委托行政调解
    (Stage.LITIGATING, "entrusted_people", Stage.COMMITTEE),  # 委托人民调解
]


def every_move() -> list[tuple[Stage, str, Any]]:
    return [(stage, d, found) for stage, moves in MOVES.items() for d, found in moves.items()]


@pytest.mark.parametrize(("stage", "decision", "to"), ROUTES)
def test_each_decision_leads_where_the_law_says(stage: Stage, decision: str, to: Stage) -> None:
    assert move(stage, decision).to is to


def test_the_ladder_allows_no_move_beyond_those_the_law_names() -> None:
    assert {(stage, d) for stage, d, _ in every_move()} == {(s, d) for s, d, _ in ROUTES}


@pytest.mark.parametrize("decision", ["terminated", "expired"])
def test_a_terminated_mediation_is_told_to_both_parties_before_the_ladder_ends(
    decision: str,
) -> None:
    terminated = move(Stage.MEDIATING, decision)

    assert terminated.to is Stage.NOTIFYING
    assert terminated.outcome is None
    assert terminated.rung_outcome == "terminated"
    assert move(Stage.NOTIFYING, "end").outcome is Outcome.TERMINATED


def test_every_stage_is_reachable_and_every_stage_can_end() -> None:
    reached = {entry_stage(Rung.RECONCILIATION), entry_stage(Rung.ADMINISTRATIVE)}
    frontier = list(reached)
    while frontier:
        for found in MOVES.get(frontier.pop(), {}).values():
            if found.to not in reached:
                reached.add(found.to)
                frontier.append(found.to)
    ending = {Stage.ENDED}
    while True:
        more = {s for s, moves in MOVES.items() if any(m.to in ending for m in moves.values())}
        if more <= ending:
            break
        ending |= more

    assert reached == set(Stage)
    assert ending == set(Stage)


# --- consent -----------------------------------------------------------------------------

CONSENTED = [
    (Stage.NOTIFYING, "people", Consent.PEOPLE_MEDIATION),  # 人民调解法第十七条
    (Stage.CONFIRMING, "people", Consent.PEOPLE_MEDIATION),  # 确认无效后重新人民调解
    (Stage.LITIGATING, "entrusted_people", Consent.PEOPLE_MEDIATION),  # 委托人民调解
    (Stage.WINDOW, "applied", Consent.JUDICIAL_CONFIRMATION),  # 第三十三条：共同申请
]


@pytest.mark.parametrize(("stage", "decision", "consent"), CONSENTED)
def test_people_mediation_and_judicial_confirmation_wait_for_both_parties_consent(
    stage: Stage, decision: str, consent: Consent
) -> None:
    assert move(stage, decision).consent is consent


def test_no_other_move_waits_for_consent_and_no_committee_is_entered_without_it() -> None:
    needing = {(stage, d) for stage, d, _ in CONSENTED}
    for stage, decision, found in every_move():
        if (stage, decision) not in needing:
            assert found.consent is None, (stage, decision)
        if found.to is Stage.COMMITTEE:
            assert found.consent is Consent.PEOPLE_MEDIATION, (stage, decision)


# --- the court's hand-back and an invalid confirmation -----------------------------------


@pytest.mark.parametrize(
    ("decision", "stage", "rung"),
    [
        ("entrusted_administrative", Stage.MEDIATING, Rung.ADMINISTRATIVE),  # 委托行政调解
        ("entrusted_people", Stage.COMMITTEE, Rung.PEOPLE),  # 委托人民调解
    ],
)
def test_a_courts_entrustment_hands_the_dispute_back_to_rung_1_or_2(
    decision: str, stage: Stage, rung: Rung
) -> None:
    entrusted = move(Stage.LITIGATING, decision)

    assert entrusted.to is stage
    assert RUNG_OF[entrusted.to] is rung
    assert LEVEL[rung] in (1, 2)
    assert entrusted.to in OPENS_RUNG  # a new rung record, not the court's
    assert entrusted.rung_outcome == "entrusted"
    assert entrusted.outcome is None


@pytest.mark.parametrize(
    ("decision", "to"),
    [
        ("people", Stage.COMMITTEE),  # 变更原协议或达成新协议
        ("litigation", Stage.LITIGATING),  # 起诉
        ("end", Stage.ENDED),
    ],
)
def test_an_invalid_confirmation_goes_back_to_people_mediation_to_court_or_ends(
    decision: str, to: Stage
) -> None:
    refused = move(Stage.CONFIRMING, decision)

    assert refused.to is to
    assert refused.rung_outcome == "invalid"


# --- how the ladder ends -----------------------------------------------------------------

ENDINGS = [
    (Stage.RECONCILING, "settled", Outcome.RECONCILED),
    (Stage.RECONCILING, "not_settled", Outcome.UNRESOLVED),  # 转12315受理
    (Stage.RECONCILING, "expired", Outcome.UNRESOLVED),
    (Stage.MEDIATING, "agreement", Outcome.AGREEMENT),
    (Stage.MEDIATING, "return", Outcome.RETURNED),
    (Stage.NOTIFYING, "end", Outcome.TERMINATED),
    (Stage.COMMITTEE, "end", Outcome.TERMINATED),
    (Stage.WINDOW, "declined", Outcome.AGREEMENT),  # 协议未经司法确认，仍然有效
    (Stage.WINDOW, "expired", Outcome.AGREEMENT),
    (Stage.CONFIRMING, "confirmed", Outcome.CONFIRMED),  # 可申请强制执行
    (Stage.CONFIRMING, "end", Outcome.TERMINATED),
    (Stage.LITIGATING, "judgment", Outcome.JUDGMENT),
    (Stage.LITIGATING, "court_mediation", Outcome.COURT_MEDIATION),
    (Stage.LITIGATING, "lawsuit_withdrawn", Outcome.LAWSUIT_WITHDRAWN),
    (Stage.LITIGATING, "not_sued", Outcome.NOT_SUED),
]


@pytest.mark.parametrize(("stage", "decision", "outcome"), ENDINGS)
def test_every_ending_gives_the_complaint_its_outcome(
    stage: Stage, decision: str, outcome: Outcome
) -> None:
    ending = move(stage, decision)

    assert ending.to is Stage.ENDED
    assert ending.outcome is outcome


def test_only_a_move_that_ends_the_ladder_carries_an_outcome() -> None:
    for stage, decision, found in every_move():
        assert (found.to is Stage.ENDED) == (found.outcome is not None), (stage, decision)
    assert {(s, d) for s, d, m in every_move() if m.to is Stage.ENDED} == {
        (s, d) for s, d, _ in ENDINGS
    }


def test_withdrawal_and_a_stop_are_the_only_outcomes_no_decision_gives() -> None:
    given = {found.outcome for _, _, found in every_move() if found.outcome is not None}

    # 撤回投诉 and 运维终止 end the ladder from outside it, at whatever rung.
    assert set(Outcome) - given == {Outcome.WITHDRAWN, Outcome.STOPPED}


# A termination notice closes the record its termination already decided.
DECIDED_ON_ENTRY = {Stage.NOTIFYING}


def test_a_move_that_closes_a_rung_record_says_how_that_rung_ended() -> None:
    for stage, decision, found in every_move():
        closes = found.to is Stage.ENDED or found.to in OPENS_RUNG
        if closes and stage not in DECIDED_ON_ENTRY:
            assert found.rung_outcome, (stage, decision)
        if found.to in DECIDED_ON_ENTRY:
            assert found.rung_outcome, (stage, decision)


# --- illegal moves -----------------------------------------------------------------------

ILLEGAL = [
    (Stage.RECONCILING, "agreement"),  # a station records a settlement, it does not mediate
    (Stage.MEDIATING, "end"),  # ending without telling the parties of the termination
    (Stage.MEDIATING, "people"),  # people's mediation only after a termination
    (Stage.NOTIFYING, "agreement"),
    (Stage.COMMITTEE, "confirmed"),  # no confirmation without a joint application
    (Stage.COMMITTEE, "expired"),  # the committee's time is chased, not ended
    (Stage.WINDOW, "confirmed"),
    (Stage.CONFIRMING, "expired"),  # a court's time is only watched
    (Stage.LITIGATING, "entrusted"),  # an entrustment names its rung
    (Stage.LITIGATING, ""),
]


@pytest.mark.parametrize(("stage", "decision"), ILLEGAL)
def test_an_illegal_move_is_refused_naming_the_stage_and_what_it_allows(
    stage: Stage, decision: str
) -> None:
    with pytest.raises(IllegalMove) as raised:
        move(stage, decision)

    message = str(raised.value)
    assert raised.value.stage is stage
    assert raised.value.decision == decision
    assert f"at {stage.value} " in message
    assert repr(decision) in message
    for allowed in MOVES[stage]:
        assert allowed in message.split("it allows ", 1)[1]


def test_a_refused_move_reads_as_a_sentence() -> None:
    with pytest.raises(IllegalMove) as raised:
        move(Stage.MEDIATING, "end")

    assert str(raised.value) == (
        "at mediating the ladder cannot take 'end'; "
        "it allows agreement, terminated, expired, return"
    )


def test_an_ended_ladder_moves_nowhere() -> None:
    with pytest.raises(
        IllegalMove, match="at ended the ladder cannot take 'settled'; it allows nothing"
    ):
        move(Stage.ENDED, "settled")


# --- deadlines that end a step by law ----------------------------------------------------


def test_only_reconciliation_mediation_and_the_application_window_expire() -> None:
    # 和解期满, 调解四十五个工作日期满, 司法确认三十日申请期满; the rest are chased or watched.
    assert EXPIRES == {Stage.RECONCILING, Stage.MEDIATING, Stage.WINDOW}


def test_the_stages_that_expire_are_those_whose_deadline_is_set_to_expire() -> None:
    expiring = {s for s, policy in steps.POLICY.items() if policy is DeadlinePolicy.EXPIRE}

    assert expiring == EXPIRES


# --- consents ----------------------------------------------------------------------------


def consent(party: Party, on: str) -> ConsentRecord:
    return ConsentRecord(party, True, on)


def refusal(party: Party, on: str) -> ConsentRecord:
    return ConsentRecord(party, False, on)


@pytest.mark.parametrize("purpose", list(Consent))
def test_both_parties_consent_lets_the_move_go_ahead(purpose: Consent) -> None:
    records = [
        consent(Party.COMPLAINANT, "2025-03-03"),
        consent(Party.RESPONDENT, "2025-03-04"),
    ]

    assert missing_consent(purpose, records) is None


@pytest.mark.parametrize(
    ("records", "missing"),
    [
        ([], "complainant"),
        ([consent(Party.RESPONDENT, "2025-03-04")], "complainant"),
        ([consent(Party.COMPLAINANT, "2025-03-03")], "respondent"),
        (
            [consent(Party.COMPLAINANT, "2025-03-03"), consent(Party.COMPLAINANT, "2025-03-05")],
            "respondent",
        ),
    ],
)
def test_a_party_with_no_consent_on_record_is_named(
    records: list[ConsentRecord], missing: str
) -> None:
    assert missing_consent(Consent.PEOPLE_MEDIATION, records) == (
        f"the {missing}'s consent to people_mediation is not on record"
    )


def test_a_refusal_is_reported_with_its_date() -> None:
    records = [
        consent(Party.COMPLAINANT, "2025-03-03"),
        refusal(Party.RESPONDENT, "2025-03-04"),
    ]

    assert missing_consent(Consent.JUDICIAL_CONFIRMATION, records) == (
        "the respondent refused judicial_confirmation (recorded for 2025-03-04)"
    )


def test_a_refusal_followed_by_a_consent_lets_the_move_go_ahead() -> None:
    records = [
        refusal(Party.RESPONDENT, "2025-03-03"),
        consent(Party.COMPLAINANT, "2025-03-03"),
        consent(Party.RESPONDENT, "2025-03-06"),
    ]

    assert missing_consent(Consent.PEOPLE_MEDIATION, records) is None


def test_a_consent_withdrawn_by_a_refusal_stops_the_move() -> None:
    records = [
        consent(Party.COMPLAINANT, "2025-03-03"),
        consent(Party.RESPONDENT, "2025-03-03"),
        refusal(Party.COMPLAINANT, "2025-03-07"),
    ]

    assert missing_consent(Consent.PEOPLE_MEDIATION, records) == (
        "the complainant refused people_mediation (recorded for 2025-03-07)"
    )


# --- rungs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rung", "stage"),
    [
        (Rung.RECONCILIATION, Stage.RECONCILING),  # 维权站登记：商家和解
        (Rung.ADMINISTRATIVE, Stage.MEDIATING),  # 分局受理：行政调解
    ],
)
def test_a_ladder_starts_at_a_stations_reconciliation_or_a_branchs_mediation(
    rung: Rung, stage: Stage
) -> None:
    assert entry_stage(rung) is stage
    assert RUNG_OF[stage] is rung
    assert stage in OPENS_RUNG


@pytest.mark.parametrize("rung", [Rung.PEOPLE, Rung.JUDICIAL])
def test_a_ladder_cannot_start_at_people_mediation_or_in_court(rung: Rung) -> None:
    with pytest.raises(ValueError, match=f"reconciliation or administrative, not {rung.value}"):
        entry_stage(rung)


def test_every_stage_but_the_end_belongs_to_a_rung() -> None:
    assert set(RUNG_OF) == set(Stage) - {Stage.ENDED}
    assert Stage.ENDED not in OPENS_RUNG


def test_the_rungs_climb_from_reconciliation_to_the_courts() -> None:
    assert sorted(Rung, key=LEVEL.__getitem__) == [
        Rung.RECONCILIATION,  # 0 和解
        Rung.ADMINISTRATIVE,  # 1 行政调解
        Rung.PEOPLE,  # 2 人民调解
        Rung.JUDICIAL,  # 3 司法
    ]
    assert sorted(LEVEL.values()) == [0, 1, 2, 3]


def test_every_rung_is_opened_by_a_stage_of_its_own() -> None:
    assert {RUNG_OF[stage] for stage in OPENS_RUNG} == set(Rung)


def test_a_stage_that_continues_a_rung_record_is_entered_only_from_that_rung() -> None:
    for stage, decision, found in every_move():
        if found.to is not Stage.ENDED and found.to not in OPENS_RUNG:
            assert RUNG_OF[found.to] is RUNG_OF[stage], (stage, decision)


# --- the forms of the ladder's tasks -----------------------------------------------------

STAGE_OF: dict[TaskKind, Stage] = {kind: stage for stage, kind in steps.WORK.items()}

TOLD = {"complainant": "phone", "respondent": "letter", "told_on": "2025-03-03"}
REPLY = "经调解，双方达成一致。"

BODIES = [
    (
        TaskKind.RECONCILE,
        {"outcome": "settled", "summary": "商家退款", "amount_recovered": "120.00"},
        "settled",
    ),
    (TaskKind.RECONCILE, {"outcome": "not_settled", "reason": "商家拒绝退款"}, "not_settled"),
    (TaskKind.HANDLE, {"outcome": "agreement", "summary": "退货退款", "reply": REPLY}, "agreement"),
    (TaskKind.HANDLE, {"outcome": "terminated", "ground": "T01", "reply": REPLY}, "terminated"),
    (TaskKind.HANDLE, {"outcome": "return", "reason": "非本单位管辖"}, "return"),
    (TaskKind.NOTIFY_TERMINATION, {**TOLD, "next": "end"}, "end"),
    (TaskKind.NOTIFY_TERMINATION, {**TOLD, "next": "people", "committee": "C01"}, "people"),
    (TaskKind.NOTIFY_TERMINATION, {**TOLD, "next": "litigation"}, "litigation"),
    (
        TaskKind.COMMITTEE_RESULT,
        {"result": "agreement", "signed_on": "2025-03-10", "summary": "赔偿200元"},
        "agreement",
    ),
    (TaskKind.COMMITTEE_RESULT, {"result": "failed", "reason": "分歧过大", "next": "end"}, "end"),
    (
        TaskKind.COMMITTEE_RESULT,
        {"result": "failed", "reason": "分歧过大", "next": "litigation"},
        "litigation",
    ),
    (
        TaskKind.JUDICIAL_APPLICATION,
        {"decision": "applied", "court": "朝阳区人民法院", "applied_on": "2025-03-12"},
        "applied",
    ),
    (TaskKind.JUDICIAL_APPLICATION, {"decision": "declined"}, "declined"),
    (
        TaskKind.COURT_RULING,
        {"ruling": "confirmed", "ruling_no": "(2025)京0105民特1号", "ruled_on": "2025-03-20"},
        "confirmed",
    ),
    *[
        (
            TaskKind.COURT_RULING,
            {"ruling": "invalid", "ruled_on": "2025-03-20", "reason": "协议违反法律规定", **onward},
            onward["next"],
        )
        for onward in (
            {"next": "people", "committee": "C01"},
            {"next": "litigation"},
            {"next": "end"},
        )
    ],
    *[
        (TaskKind.COURT_OUTCOME, {"outcome": outcome, "summary": "法院结案"}, outcome)
        for outcome in ("judgment", "court_mediation", "lawsuit_withdrawn", "not_sued")
    ],
    (
        TaskKind.COURT_OUTCOME,
        {"outcome": "entrusted", "rung": "administrative", "due_on": "2025-04-30"},
        "entrusted_administrative",
    ),
    (
        TaskKind.COURT_OUTCOME,
        {"outcome": "entrusted", "rung": "people", "due_on": "2025-04-30", "committee": "C01"},
        "entrusted_people",
    ),
]


@pytest.mark.parametrize(
    ("kind", "data", "decision"),
    [pytest.param(k, d, x, id=f"{k.value}-{x}") for k, d, x in BODIES],
)
def test_every_form_body_is_a_move_at_the_stage_its_task_is_worked(
    kind: TaskKind, data: dict[str, Any], decision: str
) -> None:
    body = kinds.parse(kind, data)

    assert forms.decision(body) == decision
    assert move(STAGE_OF[kind], decision) is MOVES[STAGE_OF[kind]][decision]


def test_every_move_but_an_expiry_is_made_by_some_form_body() -> None:
    made = {(STAGE_OF[kind], decision) for kind, _, decision in BODIES}
    by_people = {(s, d) for s, d, _ in every_move() if d != "expired"}

    assert made == by_people


# The fields whose choice is the move, and so the choices the bodies above must all try.
CHOICES = [
    (forms.TerminationNotice, "next", TaskKind.NOTIFY_TERMINATION),
    (forms.CommitteeFailed, "next", TaskKind.COMMITTEE_RESULT),
    (forms.RulingInvalid, "next", TaskKind.COURT_RULING),
    (forms.CourtDecided, "outcome", TaskKind.COURT_OUTCOME),
    (forms.CourtEntrusted, "rung", TaskKind.COURT_OUTCOME),
]


@pytest.mark.parametrize(("model", "field", "kind"), CHOICES)
def test_the_bodies_try_every_choice_a_form_offers(model: type, field: str, kind: TaskKind) -> None:
    offered = set(get_args(model.model_fields[field].annotation))
    tried = {
        data[field]
        for k, data, _ in BODIES
        if k is kind and isinstance(kinds.parse(k, data), model)
    }

    assert tried == offered


def test_every_ladder_task_is_worked_at_exactly_one_stage() -> None:
    assert set(STAGE_OF.values()) == set(Stage) - {Stage.ENDED}
    assert len(STAGE_OF) == len(steps.WORK)


def test_a_body_of_another_workflow_is_not_a_step_of_the_ladder() -> None:
    triage = kinds.parse(TaskKind.TRIAGE, {"decision": "accept", "unit": "U01"})

    with pytest.raises(ValueError, match="AcceptTriage is not a step of the mediation ladder"):
        forms.decision(triage)
