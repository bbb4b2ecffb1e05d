"""Every table model, imported once so the metadata is complete (for migrations)."""

from api.cases.models import Case, Deadline, Event, StepRecord, Submission
from api.tasks.models import Task
from api.units.models import Unit
from api.users.models import User

__all__ = ["Case", "Deadline", "Event", "StepRecord", "Submission", "Task", "Unit", "User"]
