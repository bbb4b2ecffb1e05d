"""Every table model, imported once so the metadata is complete (for migrations)."""

from api.audit.models import AuditCheckpoint, AuditLeaf
from api.auth.models import LoginAttempt, WebSession
from api.bulletins.models import Bulletin
from api.calendar.models import CalendarChange, CalendarYear
from api.campaigns.models import Campaign, CampaignChange, CampaignCheckpoint, CampaignTag
from api.casefile.models import Case, Event, PendingStart, StepRecord, Submission
from api.deadlines.models import Deadline, DeadlinePause
from api.documents import ReferenceChange, ReferenceDocument
from api.incidents.models import Incident
from api.mediation.models import Mediation, MediationConsent, MediationRung, MediationSession
from api.monitoring.models import (
    CleanUp,
    Delisting,
    MonitoringChange,
    MonitoringPlan,
    Sample,
    SampleImport,
    SamplingBatch,
)
from api.reviews.models import Review, ReviewChange, ReviewFinding, ReviewReport
from api.rules.models import RuleSetChange, RuleSetRecord
from api.stations.models import (
    DemonstrationList,
    Division,
    DivisionChange,
    Station,
    StationAssessment,
    StationChange,
    StationRectification,
)
from api.supervision.models import (
    CaseFigures,
    FigureDay,
    FigureMonth,
    RollupState,
    SupervisionRecord,
)
from api.tasks.models import Task
from api.units.models import Unit
from api.users.models import User, UserChange

__all__ = [
    "Campaign",
    "CampaignChange",
    "CampaignCheckpoint",
    "CampaignTag",
    "DemonstrationList",
    "StationRectification",
    "DivisionChange",
    "ReferenceChange",
    "ReferenceDocument",
    "Review",
    "ReviewChange",
    "ReviewFinding",
    "ReviewReport",
    "CleanUp",
    "Delisting",
    "MonitoringChange",
    "MonitoringPlan",
    "Sample",
    "SampleImport",
    "SamplingBatch",
    "AuditCheckpoint",
    "AuditLeaf",
    "Bulletin",
    "CalendarChange",
    "CalendarYear",
    "Case",
    "CaseFigures",
    "Deadline",
    "Division",
    "DeadlinePause",
    "Event",
    "FigureDay",
    "FigureMonth",
    "Incident",
    "LoginAttempt",
    "Mediation",
    "MediationConsent",
    "MediationRung",
    "MediationSession",
    "PendingStart",
    "RollupState",
    "RuleSetChange",
    "RuleSetRecord",
    "Station",
    "StationAssessment",
    "StationChange",
    "StepRecord",
    "Submission",
    "SupervisionRecord",
    "Task",
    "Unit",
    "User",
    "UserChange",
    "WebSession",
]
