"""The case workflows' own bookkeeping: a completion waiting in a workflow's inbox, and the
next rung of a deadline a workflow waits for.

Imported passed through the sandbox (``workflow.unsafe.imports_passed_through``), like the
messages: the sandbox runs the workflow modules anew for every workflow it creates, and
building these classes each time (a dataclass writes and compiles its methods) was a good
part of what a new workflow cost the worker.
"""

from dataclasses import dataclass
from datetime import datetime

from workflows.messages import DeadlineRef, EscalationRung, StepName


@dataclass
class Completion:
    step: StepName
    submission_id: str
    task_id: int | None = None
    deadline_id: int | None = None
    kind: str | None = None  # the task kind, for ``complete_task``


@dataclass
class Wake:
    at: datetime
    deadline: DeadlineRef
    rung: EscalationRung | None  # None: the deadline itself (超期)
