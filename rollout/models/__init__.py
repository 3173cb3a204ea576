"""Domain models, one module per aggregate, re-exported here."""

from rollout.models.activity import ActivityEntry
from rollout.models.api_token import ApiToken
from rollout.models.cohort import Cohort, CohortMember, EnrolmentPhase
from rollout.models.escalation import (
    OPEN_ESCALATION,
    Escalation,
    EscalationChannel,
    EscalationEvent,
    EscalationEventKind,
    EscalationLevel,
    EscalationSource,
    EscalationStatus,
)
from rollout.models.evaluation import (
    CohortDrift,
    DriftStatus,
    ThresholdEvaluation,
    ThresholdStatus,
)
from rollout.models.feedback import (
    OPEN_FEEDBACK,
    Feedback,
    FeedbackCategory,
    FeedbackComment,
    FeedbackRating,
    FeedbackStatus,
    FeedbackVote,
    Severity,
)
from rollout.models.incident import Incident, IncidentStatus, IncidentUpdate
from rollout.models.notification import Notification
from rollout.models.phase import (
    IN_PROGRESS,
    PHASE_ORDER,
    FallbackMode,
    Phase,
    PhaseKind,
    PhaseStatus,
)
from rollout.models.planning import (
    DataSource,
    ReadinessAnswer,
    ReadinessAnswerValue,
    ReadinessQuestion,
    SourceKind,
)
from rollout.models.promotion import (
    OPEN_PROMOTION,
    BlackoutWindow,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
)
from rollout.models.threshold import (
    QUALITY_METRICS,
    BreachAction,
    Comparator,
    Metric,
    Threshold,
    ThresholdScope,
    Verdict,
)
from rollout.models.usage import (
    EventKind,
    RollupPeriod,
    UsageActiveUser,
    UsageDirtyDay,
    UsageEvent,
    UsageRollup,
)
from rollout.models.workflow import (
    Workflow,
    WorkflowGroupObjectPermission,
    WorkflowUserObjectPermission,
)

__all__ = [
    "IN_PROGRESS",
    "OPEN_ESCALATION",
    "OPEN_FEEDBACK",
    "OPEN_PROMOTION",
    "PHASE_ORDER",
    "QUALITY_METRICS",
    "ActivityEntry",
    "ApiToken",
    "BlackoutWindow",
    "BreachAction",
    "Cohort",
    "CohortDrift",
    "CohortMember",
    "Comparator",
    "DataSource",
    "DriftStatus",
    "EnrolmentPhase",
    "Escalation",
    "EscalationChannel",
    "EscalationEvent",
    "EscalationEventKind",
    "EscalationLevel",
    "EscalationSource",
    "EscalationStatus",
    "EventKind",
    "FallbackMode",
    "Feedback",
    "FeedbackCategory",
    "FeedbackComment",
    "FeedbackRating",
    "FeedbackStatus",
    "FeedbackVote",
    "Incident",
    "IncidentStatus",
    "IncidentUpdate",
    "Metric",
    "Notification",
    "Phase",
    "PhaseKind",
    "PhaseStatus",
    "PromotionApproval",
    "PromotionRequest",
    "PromotionStatus",
    "ReadinessAnswer",
    "ReadinessAnswerValue",
    "ReadinessQuestion",
    "RollupPeriod",
    "Severity",
    "SourceKind",
    "Threshold",
    "ThresholdEvaluation",
    "ThresholdScope",
    "ThresholdStatus",
    "UsageActiveUser",
    "UsageDirtyDay",
    "UsageEvent",
    "UsageRollup",
    "Verdict",
    "Workflow",
    "WorkflowGroupObjectPermission",
    "WorkflowUserObjectPermission",
]
