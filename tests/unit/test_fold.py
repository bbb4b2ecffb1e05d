"""The fold of a case's history (api/casefile/fold.py), without a database: the events in,
the case as they leave it out."""

from dataclasses import dataclass, field
from typing import Any

from api.casefile.fold import fold

DUE = "2026-11-13T16:00:00+00:00"
LATER = "2026-11-20T16:00:00+00:00"


@dataclass
class E:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


def deadline_set(id_: int, name: str, policy: str = "supervise") -> E:
    return E(
        "deadline_set",
        {"deadline_id": id_, "name": name, "due_at": DUE, "state": "pending", "policy": policy},
    )


REGISTERED = [
    E("registered", {"kind": "complaint", "status": "registered"}),
    E("status_changed", {"from": "registered", "to": "triage"}),
    deadline_set(1, "triage"),
    E("task_opened", {"task_id": 1, "kind": "triage", "unit": "city"}),
]


def test_a_registered_complaint_waits_for_triage() -> None:
    case = fold("TS1", REGISTERED)
    assert (case.kind, case.status, case.unit, case.overdue) == ("complaint", "triage", None, False)
    assert [(t.id, t.kind, t.unit) for t in case.open_tasks] == [(1, "triage", "city")]
    assert [(d.id, d.name, d.state, d.met) for d in case.deadlines] == [
        (1, "triage", "pending", False)
    ]
    assert case.mediation is None and case.supervision == []


def test_a_late_triage_escalates_then_is_met_late_and_its_watch_cancelled() -> None:
    late = [
        *REGISTERED,
        E("deadline_overdue", {"deadline_id": 1, "name": "triage", "state": "overdue"}),
        E("task_opened", {"task_id": 2, "kind": "supervise", "unit": "city"}),
        E("chase_notice", {"deadline_id": 1, "name": "triage", "rung": "notice"}),
    ]
    case = fold("TS1", late)
    assert case.overdue is True
    assert case.deadlines[0].rungs == ["notice"]
    assert [s.kind for s in case.supervision] == ["overdue", "notice"]
    met = [
        *late,
        E(
            "task_completed",
            {"task_id": 1, "kind": "triage", "decision": "accept", "unit": "guichi"},
        ),
        E("deadline_met", {"deadline_id": 1, "name": "triage", "late": True, "state": "overdue"}),
        E("task_cancelled", {"task_id": 2, "kind": "supervise"}),
        E("status_changed", {"from": "triage", "to": "handling"}),
        E("accepted", {"unit": "guichi"}),
        E("mediation_started", {"number": 1, "rung": "administrative", "unit": "guichi"}),
        deadline_set(3, "handle"),
        E("task_opened", {"task_id": 3, "kind": "handle", "unit": "guichi"}),
        E("mediation_stage", {"number": 1, "rung": "administrative", "stage": "mediating"}),
    ]
    case = fold("TS1", met)
    assert (case.status, case.unit, case.overdue) == ("handling", "guichi", False)
    assert [(d.name, d.state, d.met) for d in case.deadlines] == [
        ("triage", "overdue", True),  # met late stays on record as late
        ("handle", "pending", False),
    ]
    assert [t.kind for t in case.open_tasks] == ["handle"]
    assert case.mediation is not None
    assert (case.mediation.rung, case.mediation.stage) == ("administrative", "mediating")


def test_an_extension_moves_the_day_and_clears_the_rungs_and_a_close_ends_the_rest() -> None:
    events = [
        *REGISTERED,
        E("deadline_warning", {"deadline_id": 1, "name": "triage", "rung": "warning"}),
        E(
            "deadline_changed",
            {"deadline_id": 1, "new": {"due_at": LATER}, "state": "pending", "rungs": []},
        ),
        E("clock_paused", {"deadline_id": 1, "name": "triage", "state": "paused"}),
    ]
    case = fold("TS1", events)
    assert case.deadlines[0].due_at.isoformat() == LATER
    assert (case.deadlines[0].state, case.deadlines[0].rungs) == ("paused", [])
    closed = [
        *events,
        E("task_cancelled", {"task_id": 1, "kind": "triage"}),
        E("deadline_ended", {"deadline_id": 1, "name": "triage", "state": "met"}),
        E("status_changed", {"from": "triage", "to": "withdrawn"}),
    ]
    case = fold("TS1", closed)
    assert (case.status, case.open_tasks) == ("withdrawn", [])
    assert (case.deadlines[0].state, case.deadlines[0].met) == ("met", True)


def test_a_court_s_lapsed_time_does_not_make_the_case_overdue() -> None:
    events = [
        *REGISTERED,
        deadline_set(2, "court_ruling", policy="watch"),
        E("deadline_lapsed", {"deadline_id": 2, "name": "court_ruling", "state": "overdue"}),
    ]
    case = fold("TS1", events)
    assert case.deadlines[1].state == "overdue"
    assert case.overdue is False


def test_older_events_without_ids_are_matched_by_the_deadline_s_name() -> None:
    events = [
        E("registered", {"kind": "complaint"}),
        E("deadline_set", {"name": "triage", "due_at": DUE, "policy": "supervise"}),
        E("deadline_overdue", {"name": "triage"}),
        E("criticised", {"name": "triage"}),
        E("deadline_met", {"name": "triage", "late": True}),
    ]
    case = fold("TS1", events)
    assert case.status == "registered"
    assert [(d.state, d.met, d.rungs) for d in case.deadlines] == [("overdue", True, ["criticism"])]
    assert [s.kind for s in case.supervision] == ["overdue", "criticism"]
