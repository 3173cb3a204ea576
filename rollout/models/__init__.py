"""Domain models, one module per aggregate, re-exported here."""

from rollout.models.activity import ActivityEntry
from rollout.models.api_token import ApiToken
from rollout.models.blackout import BlackoutWindow
from rollout.models.briefing import Briefing, BriefingAcknowledgement, BriefingRequirement
from rollout.models.cache_invalidation import CacheInvalidation, CacheInvalidationKind
from rollout.models.calendar_feed import CalendarFeed
from rollout.models.cohort import Cohort, CohortMember, EnrolmentPhase
from rollout.models.escalation import (
    OPEN_ESCALATION,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    EscalationSource,
    EscalationStatus,
)
from rollout.models.escalation_path import EscalationChannel, EscalationLevel
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
)
from rollout.models.follow import Follow
from rollout.models.incident import Incident, IncidentStatus, IncidentUpdate
from rollout.models.notice import (
    ChangeNotice,
    DeliveryChannel,
    DeliveryStatus,
    NoticeAudience,
    NoticeDelivery,
    NoticeKind,
    NoticeReceipt,
    NoticeStatus,
)
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
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
)
from rollout.models.review import (
    AttestationAnswer,
    AttestationItem,
    DecisionKind,
    ReminderKind,
    ReminderOutcome,
    Review,
    ReviewAttestation,
    ReviewDecision,
    ReviewReminder,
    ReviewStatus,
    ThresholdFit,
)
from rollout.models.severity import Severity
from rollout.models.source_health import (
    UNHEALTHY_STATES,
    SourceHealthDay,
    SourceHeartbeat,
    SourceState,
    SourceStatus,
)
from rollout.models.sweep import SweepRun
from rollout.models.threshold import (
    QUALITY_METRICS,
    SOURCE_METRICS,
    BreachAction,
    Comparator,
    Metric,
    Threshold,
    ThresholdScope,
    Verdict,
)
from rollout.models.usage import (
    INPUT_KINDS,
    EventKind,
    RollupPeriod,
    UsageActiveUser,
    UsageDirtyDay,
    UsageEvent,
    UsageLastActive,
    UsageRollup,
)
from rollout.models.webhook import Webhook, WebhookDelivery
from rollout.models.workflow import (
    Workflow,
    WorkflowGroupObjectPermission,
    WorkflowUserObjectPermission,
)

__all__ = [
    "INPUT_KINDS",
    "IN_PROGRESS",
    "OPEN_ESCALATION",
    "OPEN_FEEDBACK",
    "OPEN_PROMOTION",
    "PHASE_ORDER",
    "QUALITY_METRICS",
    "SOURCE_METRICS",
    "UNHEALTHY_STATES",
    "ActivityEntry",
    "ApiToken",
    "AttestationAnswer",
    "AttestationItem",
    "BlackoutWindow",
    "BreachAction",
    "Briefing",
    "BriefingAcknowledgement",
    "BriefingRequirement",
    "CacheInvalidation",
    "CacheInvalidationKind",
    "CalendarFeed",
    "ChangeNotice",
    "Cohort",
    "CohortDrift",
    "CohortMember",
    "Comparator",
    "DataSource",
    "DecisionKind",
    "DeliveryChannel",
    "DeliveryStatus",
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
    "Follow",
    "Incident",
    "IncidentStatus",
    "IncidentUpdate",
    "Metric",
    "NoticeAudience",
    "NoticeDelivery",
    "NoticeKind",
    "NoticeReceipt",
    "NoticeStatus",
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
    "ReminderKind",
    "ReminderOutcome",
    "Review",
    "ReviewAttestation",
    "ReviewDecision",
    "ReviewReminder",
    "ReviewStatus",
    "RollupPeriod",
    "Severity",
    "SourceHealthDay",
    "SourceHeartbeat",
    "SourceKind",
    "SourceState",
    "SourceStatus",
    "SweepRun",
    "Threshold",
    "ThresholdEvaluation",
    "ThresholdFit",
    "ThresholdScope",
    "ThresholdStatus",
    "UsageActiveUser",
    "UsageDirtyDay",
    "UsageEvent",
    "UsageLastActive",
    "UsageRollup",
    "Verdict",
    "Webhook",
    "WebhookDelivery",
    "Workflow",
    "WorkflowGroupObjectPermission",
    "WorkflowUserObjectPermission",
]
