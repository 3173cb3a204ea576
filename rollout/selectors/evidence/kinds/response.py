"""Incidents (what happened, what changed) and escalations that reached the end of their path."""

from django.db.models import QuerySet
from django.urls import reverse

from rollout.models import (
    EscalationEvent,
    EscalationEventKind,
    EscalationSource,
    EscalationStatus,
    Incident,
    IncidentStatus,
    Severity,
)
from rollout.selectors.evidence.entries import EvidenceEntry, timeline_rows
from rollout.selectors.evidence.kinds.text import NOBODY, day_text, person_text

# --- Incidents ----------------------------------------------------------------------------------


def incident_rows() -> QuerySet:
    return timeline_rows(
        Incident.objects.all(), kind="incident", workflow="workflow_id", at="started_at"
    )


def incident_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    incidents = (
        Incident.objects.filter(pk__in=pks).select_related("workflow").prefetch_related("cohorts")
    )
    for incident in incidents:
        closed = incident.status == IncidentStatus.CLOSED
        cohorts = ", ".join(sorted(c.name for c in incident.cohorts.all())) or "None named"
        details = [
            ("Status", f"Closed on {day_text(incident.closed_at)}" if closed else "Open"),
            ("Severity", Severity(incident.severity).label),
            ("Cohorts affected", cohorts),
            ("Impact", incident.impact or NOBODY),
            ("What happened", incident.what_happened or "Not written yet"),
            ("What changed", incident.what_changed or "Not written yet"),
        ]
        entries[incident.pk] = EvidenceEntry(
            kind="incident",
            kind_label="Incident",
            at=incident.started_at,
            workflow=incident.workflow,
            title=incident.title,
            details=details,
            url=reverse("incident_detail", args=[incident.workflow.slug, incident.pk]),
            tone="warn" if closed else "bad",
        )
    return entries


# --- Escalations that reached the end of their path ---------------------------------------------


def escalation_rows() -> QuerySet:
    return timeline_rows(
        EscalationEvent.objects.filter(kind=EscalationEventKind.EXHAUSTED),
        kind="escalation",
        workflow="escalation__workflow_id",
        at="at",
    )


def escalation_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    events = EscalationEvent.objects.filter(pk__in=pks).select_related(
        "escalation__workflow", "escalation__current_contact"
    )
    for event in events:
        escalation = event.escalation
        status = EscalationStatus(escalation.status)
        if status == EscalationStatus.RESOLVED:
            state = f"Resolved on {day_text(escalation.resolved_at)}"
        else:
            state = status.label
        entries[event.pk] = EvidenceEntry(
            kind="escalation",
            kind_label="Escalation exhausted",
            at=event.at,
            workflow=escalation.workflow,
            title=f"Escalation reached its last level: {escalation.title}",
            details=[
                ("Severity", Severity(escalation.severity).label),
                ("Source", EscalationSource(escalation.source).label),
                ("Opened", day_text(escalation.opened_at)),
                ("Last contact", person_text(escalation.current_contact)),
                ("Now", state),
            ],
            url=reverse("escalation_detail", args=[escalation.workflow.slug, escalation.pk]),
            tone="" if status == EscalationStatus.RESOLVED else "bad",
        )
    return entries
