"""One of every kind of evidence for a workflow, written straight into the tables the product's
services write (the timeline only reads them): `make_evidence(workflow, ...)`."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import (
    ActivityEntry,
    AIConfiguration,
    BreachAction,
    ChangeNotice,
    Cohort,
    ConfigOrigin,
    DecisionKind,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    Incident,
    IncidentStatus,
    NoticeReceipt,
    NoticeStatus,
    Phase,
    PhaseStatus,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
    Review,
    ReviewDecision,
    ReviewStatus,
    Threshold,
    ThresholdEvaluation,
    Verdict,
    Workflow,
)

KINDS = (
    "phase",
    "promotion",
    "override",
    "breach",
    "pause",
    "incident",
    "notice",
    "ownership",
    "escalation",
    "review",
    "configuration",
)


@dataclass
class Evidence:
    """What make_evidence wrote, by kind."""

    phases: list[Phase]
    promotion: PromotionRequest
    override: PromotionRequest
    breach: ThresholdEvaluation
    pause: ActivityEntry
    incident: Incident
    notice: ChangeNotice
    handover: ActivityEntry
    exhausted: EscalationEvent
    review: Review
    configuration: AIConfiguration


def _at(entry: ActivityEntry, when: datetime) -> ActivityEntry:
    ActivityEntry.objects.filter(pk=entry.pk).update(created_at=when)
    entry.refresh_from_db()
    return entry


def make_evidence(
    workflow: Workflow,
    *,
    requester: User,
    approver: User,
    recipients: list[User],
    start: datetime | None = None,
    title: str = "Model update to gpt-5.1",
) -> Evidence:
    """Nine entries for `workflow`, an hour apart from `start` (default: 10 days ago), oldest
    first: phase, promotion, override, breach, pause, incident, notice, handover, escalation.
    The notice went to `recipients`; the first of them acknowledged it."""
    start = start or timezone.now() - timedelta(days=10)
    hour = timedelta(hours=1)
    audit = Phase.objects.create(
        workflow=workflow,
        kind="audit",
        position=0,
        planned_start=date(2026, 1, 1),
        planned_end=date(2026, 1, 28),
        actual_start=start,
        actual_end=start + 2 * hour,
        status=PhaseStatus.COMPLETED,
    )
    shadow = Phase.objects.create(
        workflow=workflow,
        kind="shadow",
        position=1,
        planned_start=date(2026, 1, 29),
        actual_start=start + 2 * hour,
        status=PhaseStatus.ACTIVE,
    )
    promotion = PromotionRequest.objects.create(
        workflow=workflow,
        from_phase=audit,
        to_phase=shadow,
        requested_by=requester,
        gate_fingerprint="x",
        status=PromotionStatus.EXECUTED,
        decided_at=start + hour,
        note="Sources are live.",
    )
    PromotionApproval.objects.create(request=promotion, approver=approver, gate_fingerprint="x")
    override = PromotionRequest.objects.create(
        workflow=workflow,
        from_phase=audit,
        to_phase=shadow,
        requested_by=requester,
        gate_fingerprint="y",
        status=PromotionStatus.REJECTED,
        decided_at=start + 2 * hour,
        override_reason='=HYPERLINK("http://evil") the board asked for it',
        overridden_by=approver,
    )
    threshold = Threshold.objects.create(
        workflow=workflow,
        metric="error_rate",
        comparator="lte",
        limit=0.02,
        bad_output="Wrong refund amount",
        action=BreachAction.PAUSE_ROLLOUT,
    )
    breach = ThresholdEvaluation.objects.create(
        threshold=threshold,
        verdict=Verdict.FAIL,
        observed=0.05,
        sample=400,
        reason="5% of 400 cases failed.",
        window_start=start,
        window_end=start + 3 * hour,
        evaluated_at=start + 3 * hour,
        breach=True,
    )
    pause = _at(
        ActivityEntry.objects.create(
            workflow=workflow,
            verb="paused",
            target="Shadow mode",
            note="Paused automatically: error rate breached its threshold.",
        ),
        start + 4 * hour,
    )
    cohort = Cohort.objects.create(workflow=workflow, name="EU tier-1 agents")
    incident = Incident.objects.create(
        workflow=workflow,
        title="Refunds promised in error",
        started_at=start + 5 * hour,
        status=IncidentStatus.CLOSED,
        closed_at=start + 6 * hour,
        what_happened="The model promised refunds.",
        what_changed="The prompt now forbids promises.",
    )
    incident.cohorts.add(cohort)
    notice = ChangeNotice.objects.create(
        workflow=workflow,
        kind="model_change",
        title=title,
        body="New model.",
        publish_at=start + 6 * hour,
        effective_at=start + 6 * hour + timedelta(days=5),
        status=NoticeStatus.PUBLISHED,
        published_at=start + 6 * hour,
        requires_ack=True,
    )
    for index, person in enumerate(recipients):
        NoticeReceipt.objects.create(
            notice=notice,
            recipient=person,
            cohort=cohort,
            read_at=start + 7 * hour,
            acknowledged_at=start + 7 * hour if index == 0 else None,
        )
    handover = _at(
        ActivityEntry.objects.create(
            workflow=workflow,
            actor=approver,
            verb="handed over",
            target=f"workflow {workflow.name}",
            changes={"owner": ["Old Owner", "New Owner"]},
        ),
        start + 7 * hour,
    )
    escalation = Escalation.objects.create(
        workflow=workflow, title="Nobody answered", source="manual", severity="critical"
    )
    exhausted = EscalationEvent.objects.create(
        escalation=escalation, kind=EscalationEventKind.EXHAUSTED, at=start + 8 * hour
    )
    review = Review.objects.create(
        workflow=workflow,
        status=ReviewStatus.COMPLETED,
        period_start=start - 90 * 24 * hour,
        started_by=requester,
        started_at=start + 9 * hour,
        completed_by=requester,
        completed_at=start + 10 * hour,
        due_date=(start + 9 * hour).date(),
        next_due=(start + 100 * 24 * hour).date(),
    )
    ReviewDecision.objects.create(
        review=review,
        kind=DecisionKind.HOLD,
        rationale="Error rate still above target in the EU cohort.",
        decided_by=requester,
        decided_at=start + 10 * hour,
    )
    declared = AIConfiguration.objects.filter(workflow=workflow).order_by("-version").first()
    if declared is None:
        declared = AIConfiguration.objects.create(
            workflow=workflow, version=1, prompt_version="v6", effective_at=start - hour
        )
    seen_at = start + 11 * hour
    configuration = AIConfiguration.objects.create(
        workflow=workflow,
        version=declared.version + 1,
        model_provider=declared.model_provider,
        model_name=declared.model_name,
        model_version=declared.model_version,
        prompt_version="v7",
        sources=declared.sources,
        effective_at=seen_at,
        origin=ConfigOrigin.OBSERVED,
        evidence={
            "since": seen_at.isoformat(),
            "reporting": 1200,
            "mismatching": 240,
            "compared_with": declared.version,
            "fields": {
                "prompt_version": {
                    "declared": declared.prompt_version,
                    "reported": "v7",
                    "count": 240,
                    "first_at": seen_at.isoformat(),
                    "last_at": (seen_at + hour).isoformat(),
                }
            },
        },
    )
    return Evidence(
        phases=[audit, shadow],
        promotion=promotion,
        override=override,
        breach=breach,
        pause=pause,
        incident=incident,
        notice=notice,
        handover=handover,
        exhausted=exhausted,
        review=review,
        configuration=configuration,
    )
