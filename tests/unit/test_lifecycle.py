"""The complaint's status transition table (api/cases/lifecycle.py), with no database."""

import pytest

from api.casefile.lifecycle import (
    ALLOWED,
    BULLETIN_ALLOWED,
    BULLETIN_ONLY,
    DUTY_ALLOWED,
    DUTY_ONLY,
    REPORT_ALLOWED,
    REPORT_ONLY,
    TERMINAL,
    CaseKind,
    IllegalTransition,
    Status,
    ensure_transition,
    is_open,
)

OPEN = [
    Status.REGISTERED,
    Status.RECONCILIATION,
    Status.TRIAGE,
    Status.HANDLING,
    Status.REPLIED,
    Status.CALLBACK,
]
CLOSED_FOR_GOOD = [Status.REJECTED, Status.REFERRED, Status.CLOSED, Status.WITHDRAWN]

HAPPY_PATH = [
    (Status.REGISTERED, Status.TRIAGE),  # 登记 → 受理审查
    (Status.REGISTERED, Status.RECONCILIATION),  # 维权站登记 → 和解
    (Status.RECONCILIATION, Status.CLOSED),  # 和解成功
    (Status.RECONCILIATION, Status.TRIAGE),  # 和解不成，转受理审查
    (Status.TRIAGE, Status.HANDLING),  # 受理，分送承办单位
    (Status.TRIAGE, Status.REJECTED),  # 不予受理
    (Status.TRIAGE, Status.REFERRED),  # 移送
    (Status.HANDLING, Status.REPLIED),  # 答复
    (Status.HANDLING, Status.TRIAGE),  # 退回：非本单位管辖
    (Status.REPLIED, Status.CALLBACK),  # 回访未联系上，再次回访
    (Status.REPLIED, Status.CLOSED),  # 回访即办结
    (Status.CALLBACK, Status.CALLBACK),  # a further callback attempt
    (Status.CALLBACK, Status.CLOSED),  # 办结
    (Status.CALLBACK, Status.HANDLING),  # 不满意，退回重办
]

ILLEGAL = [
    (Status.TRIAGE, Status.CLOSED),  # closing without handling
    (Status.REGISTERED, Status.HANDLING),  # dispatching without triage
    (Status.REGISTERED, Status.CLOSED),
    (Status.HANDLING, Status.CLOSED),  # closing without a reply
    (Status.REPLIED, Status.HANDLING),
    (Status.CLOSED, Status.HANDLING),  # reopening a closed case
    (Status.REJECTED, Status.TRIAGE),
    (Status.REFERRED, Status.HANDLING),
    (Status.TRIAGE, Status.REGISTERED),
    (Status.RECONCILIATION, Status.HANDLING),  # a station's case is accepted by the centre
    (Status.HANDLING, Status.RECONCILIATION),
]


@pytest.mark.parametrize(("current", "target"), HAPPY_PATH)
def test_every_move_of_the_lifecycle_is_allowed(current: Status, target: Status) -> None:
    assert ensure_transition(current, target) is target


@pytest.mark.parametrize("current", OPEN)
def test_a_case_can_be_withdrawn_from_every_open_status(current: Status) -> None:
    assert ensure_transition(current, Status.WITHDRAWN) is Status.WITHDRAWN


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_an_illegal_move_is_refused_naming_both_statuses(current: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition) as raised:
        ensure_transition(current, target)

    assert raised.value.current is current
    assert raised.value.target is target
    assert f"from {current.value} to {target.value}" in str(raised.value)


@pytest.mark.parametrize("target", list(Status))
def test_a_withdrawn_case_moves_nowhere(target: Status) -> None:
    with pytest.raises(IllegalTransition, match=f"from withdrawn to {target.value}"):
        ensure_transition(Status.WITHDRAWN, target)


@pytest.mark.parametrize("current", CLOSED_FOR_GOOD)
def test_terminal_statuses_have_no_moves(current: Status) -> None:
    assert current in TERMINAL
    assert not is_open(current)
    assert ALLOWED[current] == frozenset()
    for target in Status:
        with pytest.raises(IllegalTransition):
            ensure_transition(current, target)


def test_the_table_covers_every_complaint_status_and_only_terminal_ones_are_dead_ends() -> None:
    assert set(ALLOWED) == set(Status) - REPORT_ONLY - BULLETIN_ONLY - DUTY_ONLY
    assert {s for s, moves in ALLOWED.items() if not moves} == TERMINAL - BULLETIN_ONLY
    assert [s for s in ALLOWED if is_open(s)] == OPEN


REPORT_PATH = [
    (Status.REGISTERED, Status.TRIAGE),
    (Status.TRIAGE, Status.VERIFICATION),  # 分送核查
    (Status.TRIAGE, Status.REFERRED),
    (Status.VERIFICATION, Status.INVESTIGATION),  # 立案
    (Status.VERIFICATION, Status.NOT_FILED),  # 不予立案，待告知实名举报人
    (Status.VERIFICATION, Status.CLOSED),  # 不予立案，匿名举报
    (Status.NOT_FILED, Status.CLOSED),
    (Status.INVESTIGATION, Status.CLOSED),  # 处罚决定 / 未发现违法 / 移送
]


@pytest.mark.parametrize(("current", "target"), REPORT_PATH)
def test_a_report_moves_along_its_own_path(current: Status, target: Status) -> None:
    assert ensure_transition(current, target, CaseKind.REPORT) == target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.TRIAGE, Status.HANDLING),  # a report is not mediated
        (Status.REGISTERED, Status.RECONCILIATION),
        (Status.VERIFICATION, Status.REPLIED),
        (Status.INVESTIGATION, Status.VERIFICATION),
        (Status.CLOSED, Status.INVESTIGATION),
    ],
)
def test_a_report_refuses_the_complaints_moves(current: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition):
        ensure_transition(current, target, CaseKind.REPORT)


def test_a_complaint_never_takes_a_report_status() -> None:
    for status in REPORT_ONLY:
        with pytest.raises(IllegalTransition):
            ensure_transition(Status.TRIAGE, status)


def test_a_report_can_be_withdrawn_from_every_open_status() -> None:
    sources = {s for s, moves in REPORT_ALLOWED.items() if Status.WITHDRAWN in moves}
    assert sources == {s for s in REPORT_ALLOWED if is_open(s)}


def test_withdrawn_is_reached_only_by_withdrawal_from_an_open_status() -> None:
    sources = {s for s, moves in ALLOWED.items() if Status.WITHDRAWN in moves}

    assert sources == set(OPEN)


def test_a_bulletin_is_drafted_then_published_and_never_changes_after() -> None:
    kind = CaseKind.BULLETIN
    assert ensure_transition(Status.REGISTERED, Status.DRAFT, kind) == Status.DRAFT
    assert ensure_transition(Status.DRAFT, Status.PUBLISHED, kind) == Status.PUBLISHED
    assert not is_open(Status.PUBLISHED)
    assert BULLETIN_ALLOWED[Status.PUBLISHED] == frozenset()
    for target in Status:
        with pytest.raises(IllegalTransition):
            ensure_transition(Status.PUBLISHED, target, kind)
    # A bulletin is not a complaint: it is never withdrawn, closed or sent back.
    with pytest.raises(IllegalTransition):
        ensure_transition(Status.DRAFT, Status.WITHDRAWN, kind)
    with pytest.raises(IllegalTransition):
        ensure_transition(Status.DRAFT, Status.PUBLISHED)  # not a complaint's move


@pytest.mark.parametrize("kind", [CaseKind.DEMONSTRATION, CaseKind.RECTIFICATION])
def test_a_duty_is_assigned_submitted_sent_back_and_closed(kind: CaseKind) -> None:
    path = [
        (Status.REGISTERED, Status.ASSIGNED),
        (Status.ASSIGNED, Status.SUBMITTED),
        (Status.SUBMITTED, Status.ASSIGNED),  # sent back (退回)
        (Status.SUBMITTED, Status.CLOSED),
        (Status.ASSIGNED, Status.CLOSED),  # a duty nobody reviews
    ]
    for current, target in path:
        assert ensure_transition(current, target, kind) == target
    assert DUTY_ALLOWED[Status.CLOSED] == frozenset()
    for wrong in (Status.TRIAGE, Status.WITHDRAWN, Status.PUBLISHED, Status.HANDLING):
        with pytest.raises(IllegalTransition):
            ensure_transition(Status.ASSIGNED, wrong, kind)
