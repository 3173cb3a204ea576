"""Template context shared by every page rendered with a request."""

from collections.abc import Callable

from django.db import models
from django.http import HttpRequest

from rollout.models import (
    BriefingRequirement,
    ConfigOrigin,
    DeliveryStatus,
    DriftStatus,
    EscalationEventKind,
    EscalationStatus,
    FallbackMode,
    FeedbackCategory,
    FeedbackRating,
    FeedbackStatus,
    IncidentStatus,
    NoticeAudience,
    NoticeStatus,
    PhaseStatus,
    ReadinessAnswerValue,
    Severity,
    SourceKind,
    SourceState,
    Verdict,
)
from rollout.selectors.evidence.timeline import evidence_reads_any
from rollout.selectors.health import HealthStatus

# Enums, not strings, in templates too: a template compares a status or a channel with the enum
# member, `{% if phase.status == PhaseStatus.PAUSED %}`, never with "paused". One way everywhere,
# model rows and plain dicts alike (a gate check, a timeline row), so the enum classes themselves
# are in the context of every page, by their class name. Django's Choices set
# `do_not_call_in_templates`, so the class is not called and `PhaseStatus.PAUSED` resolves to the
# member, a str equal to "paused". A template rendered without a request (the emails, through
# render_to_string) does not get them: pass the enum in its context if it ever needs one.
# Add an enum here when a template first compares against it.
TEMPLATE_ENUMS: dict[str, type[models.TextChoices]] = {
    enum.__name__: enum
    for enum in (
        BriefingRequirement,
        ConfigOrigin,
        DeliveryStatus,
        DriftStatus,
        EscalationEventKind,
        EscalationStatus,
        FallbackMode,
        FeedbackCategory,
        FeedbackRating,
        FeedbackStatus,
        HealthStatus,
        IncidentStatus,
        NoticeAudience,
        NoticeStatus,
        PhaseStatus,
        ReadinessAnswerValue,
        Severity,
        SourceKind,
        SourceState,
        Verdict,
    )
}


def enums(request: HttpRequest) -> dict[str, type[models.TextChoices]]:
    return TEMPLATE_ENUMS


def evidence(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """`shows_evidence`: whether the main menu links the evidence timeline for someone without an
    org role (an owner). A callable, so the query runs only where a template asks, once."""
    user = getattr(request, "user", None)
    answer: list[bool] = []

    def shows_evidence() -> bool:
        if not answer:
            answer.append(user is not None and evidence_reads_any(user))
        return answer[0]

    return {"shows_evidence": shows_evidence}
