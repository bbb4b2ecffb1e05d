"""The case as it stood at any moment, folded from its history alone.

``fold`` is a pure function of the events: it reads no table. What it gives is what the
live tables give for the same moment (``api.audit.projection.current``); a property test
walks generated lifecycles and holds the two together, so an event a step forgot to write
shows as a disagreement. ``GET /cases/{no}/history?as_of=`` is this fold over the events up
to the moment asked.

Events written before the events carried their ids (``deadline_id`` on the deadline
events, ``task_id`` on a reassignment to another unit) are matched by name instead, the
latest deadline of that name still running.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel


class Recorded(Protocol):
    """An event of the history, as stored (``Event``) or as read back from an export."""

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


class TaskAsOf(BaseModel):
    id: int
    kind: str
    unit: str | None


class DeadlineAsOf(BaseModel):
    id: int
    name: str
    due_at: datetime
    state: str  # pending · paused · overdue · met
    met: bool  # done with (met, met late, or ended with the case)
    policy: str
    rungs: list[str]  # the escalation's rungs reached: warning, notice, criticism


class MediationAsOf(BaseModel):
    number: int
    rung: str
    stage: str
    outcome: str | None


class SupervisionAsOf(BaseModel):
    """One record of /supervision/accountability: an escalation rung or a chase."""

    kind: str
    deadline: str | None


class CaseAsOf(BaseModel):
    case_no: str
    kind: str
    status: str
    unit: str | None
    overdue: bool
    open_tasks: list[TaskAsOf]
    deadlines: list[DeadlineAsOf]
    mediation: MediationAsOf | None  # the latest run of the ladder
    supervision: list[SupervisionAsOf]


# The event of each supervision record (SupervisionKind → the event its step writes).
SUPERVISION_EVENTS = {
    "deadline_overdue": "overdue",
    "deadline_warning": "warning",
    "chase_notice": "notice",
    "criticised": "criticism",
    "accountability": "accountability",
    "urged": "urge",
}
# The escalation's events, by the rung they record (older events carry no ``rung``).
_RUNG_EVENTS = {
    "deadline_warning": "warning",
    "chase_notice": "notice",
    "criticised": "criticism",
    "deadline_reminder": None,
}
# Events that set a deadline's state, with the state when an older event does not say.
_STATE_EVENTS = {
    "deadline_overdue": "overdue",
    "deadline_lapsed": "overdue",
    "clock_paused": "paused",
    "clock_resumed": "pending",
    "deadline_expired": "met",
}
_DEADLINE_EVENTS = {
    *_STATE_EVENTS,
    *_RUNG_EVENTS,
    "deadline_met",
    "deadline_ended",
    "deadline_changed",
}
_WATCH = "watch"


class _Fold:
    def __init__(self, case_no: str) -> None:
        self.case_no = case_no
        self.kind = ""
        self.status = "registered"
        self.unit: str | None = None
        self.tasks: dict[int, TaskAsOf] = {}
        self.deadlines: dict[int, DeadlineAsOf] = {}
        self.mediations: dict[int, MediationAsOf] = {}
        self.supervision: list[SupervisionAsOf] = []

    def deadline(self, data: dict[str, Any]) -> DeadlineAsOf | None:
        found = self.deadlines.get(data.get("deadline_id") or 0)
        if found is not None:
            return found
        name = data.get("name") or data.get("deadline")
        running = [d for d in self.deadlines.values() if d.name == name and not d.met]
        return running[-1] if running else None

    def apply(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "registered":
            self.kind = data.get("kind", self.kind)
            self.status = data.get("status", self.status)
        elif type_ == "status_changed":
            self.status = data["to"]
        elif type_ == "accepted":
            self.unit = data.get("unit")
        elif type_ == "returned":
            self.unit = None
        elif type_ == "task_opened":
            self.tasks[data["task_id"]] = TaskAsOf(
                id=data["task_id"], kind=data["kind"], unit=data.get("unit")
            )
        elif type_ in ("task_completed", "task_cancelled"):
            self.tasks.pop(data.get("task_id") or 0, None)
        elif type_ == "reassigned" and "unit" in data:
            self.unit = data["unit"]
            task = self.tasks.get(data.get("task_id") or 0)
            if task is not None:
                task.unit = data["unit"]
        elif type_ == "deadline_set":
            key = data.get("deadline_id") or -(len(self.deadlines) + 1)
            self.deadlines[key] = DeadlineAsOf(
                id=key,
                name=data["name"],
                due_at=datetime.fromisoformat(data["due_at"]),
                state=data.get("state", "pending"),
                met=False,
                policy=data.get("policy", "supervise"),
                rungs=[],
            )
        else:
            self._deadline_event(type_, data)
            self._mediation_event(type_, data)
        if type_ in SUPERVISION_EVENTS:
            self.supervision.append(
                SupervisionAsOf(
                    kind=SUPERVISION_EVENTS[type_],
                    deadline=data.get("name") or data.get("deadline"),
                )
            )

    def _deadline_event(self, type_: str, data: dict[str, Any]) -> None:
        deadline = self.deadline(data) if type_ in _DEADLINE_EVENTS else None
        if deadline is None:
            return
        if type_ == "deadline_changed":
            deadline.due_at = datetime.fromisoformat(data["new"]["due_at"])
            deadline.state = data.get("state", deadline.state)
            deadline.rungs = list(data.get("rungs", deadline.rungs))
        elif type_ in _RUNG_EVENTS:
            rung = data.get("rung", _RUNG_EVENTS[type_])
            if rung is not None and rung not in deadline.rungs:
                deadline.rungs.append(rung)
        elif type_ == "deadline_met":
            deadline.met = True
            deadline.state = data.get("state", "overdue" if data.get("late") else "met")
        elif type_ == "deadline_ended":
            deadline.met = True
            deadline.state = data["state"]
        else:
            deadline.state = data.get("state", _STATE_EVENTS[type_])
            deadline.met = deadline.met or type_ == "deadline_expired"

    def _mediation_event(self, type_: str, data: dict[str, Any]) -> None:
        number = int(data.get("number") or 0)
        if type_ == "mediation_started":
            self.mediations[number] = MediationAsOf(
                number=number, rung=data["rung"], stage="", outcome=None
            )
        elif type_ == "mediation_stage" and number in self.mediations:
            self.mediations[number].rung = data["rung"]
            self.mediations[number].stage = data["stage"]
        elif type_ == "mediation_ended" and number in self.mediations:
            self.mediations[number].stage = "ended"
            self.mediations[number].outcome = data.get("outcome")

    def result(self) -> CaseAsOf:
        deadlines = sorted(self.deadlines.values(), key=lambda d: d.id)
        latest = max(self.mediations) if self.mediations else None
        return CaseAsOf(
            case_no=self.case_no,
            kind=self.kind,
            status=self.status,
            unit=self.unit,
            # The case is overdue while one of the bureau's own deadlines is (a court's
            # lapsed time is not the bureau's lateness).
            overdue=any(
                d.state == "overdue" and not d.met and d.policy != _WATCH for d in deadlines
            ),
            open_tasks=sorted(self.tasks.values(), key=lambda t: t.id),
            deadlines=deadlines,
            mediation=self.mediations[latest] if latest is not None else None,
            supervision=self.supervision,
        )


def fold(case_no: str, events: Iterable[Recorded]) -> CaseAsOf:
    """The case after ``events`` (its history, in order, from the first)."""
    state = _Fold(case_no)
    for event in events:
        state.apply(event.type, event.data)
    return state.result()
