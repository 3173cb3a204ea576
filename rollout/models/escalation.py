from django.conf import settings
from django.db import models

from core.text import refuse_control_characters
from rollout.models.severity import Severity


class EscalationSource(models.TextChoices):
    FEEDBACK = "feedback", "Feedback"
    BREACH = "breach", "Threshold breach"
    INCIDENT = "incident", "Incident"
    MANUAL = "manual", "Opened by hand"
    DRIFT = "drift", "Drift"
    OUTPUT_REVIEW = "review", "Output review"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


OPEN_ESCALATION = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED)


class Escalation(models.Model):
    """An open problem walking the workflow's escalation path.

    `step` counts the notifications so far (1 = level 1 told). While open and unacknowledged,
    `next_step_at` is when the next level is due; the scheduler advances it (see
    rollout.services.escalations). The state is here, not in the broker: a restart or a missed
    tick catches up, and the unique step rows make each step notify once.
    """

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="escalations"
    )
    title = models.CharField(max_length=200, validators=[refuse_control_characters])
    description = models.TextField(blank=True, max_length=4000)
    source = models.CharField(max_length=10, choices=EscalationSource.choices)
    severity = models.CharField(max_length=10, default=Severity.HIGH)
    feedback = models.ForeignKey(
        "rollout.Feedback", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    threshold = models.ForeignKey(
        "rollout.Threshold", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    incident = models.ForeignKey(
        "rollout.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    step = models.PositiveIntegerField(default=0)
    current_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    next_step_at = models.DateTimeField(null=True, blank=True, db_index=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["workflow", "status"], name="escalation_wf_status")]

    def __str__(self) -> str:
        return self.title


class EscalationEventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    NOTIFIED = "notified", "Notified"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    REASSIGNED = "reassigned", "Reassigned"
    RESOLVED = "resolved", "Resolved"
    NOTE = "note", "Note"
    EXHAUSTED = "exhausted", "Path exhausted"


class EscalationEvent(models.Model):
    """One entry of an escalation's timeline. A `notified` entry per step is unique, so a step
    run twice (two schedulers, a retry) notifies its level once."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EscalationEventKind.choices)
    step = models.PositiveIntegerField(null=True, blank=True)
    level_position = models.PositiveSmallIntegerField(null=True, blank=True)
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, max_length=4000)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "step"],
                condition=models.Q(kind=EscalationEventKind.NOTIFIED),
                name="escalation_step_notified_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.escalation_id}: {self.kind} at {self.at}"
