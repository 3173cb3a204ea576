"""Incidents: failures that reached users, explained to the cohorts they affected."""

from django.conf import settings
from django.db import models

from core.text import refuse_control_characters
from rollout.models.severity import Severity


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Incident(models.Model):
    """A failure that reached users. Closing it needs "what happened" and "what changed", and
    drafts the explanation to the affected cohorts (`notice_title`/`notice_body`, stored here
    until change notices can send it)."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="incidents"
    )
    title = models.CharField(max_length=200, validators=[refuse_control_characters])
    started_at = models.DateTimeField()
    detected_by = models.CharField(
        max_length=200, blank=True, validators=[refuse_control_characters]
    )
    impact = models.TextField(max_length=4000, blank=True)
    severity = models.CharField(max_length=10, default=Severity.HIGH)
    cohorts = models.ManyToManyField("rollout.Cohort", blank=True, related_name="incidents")
    status = models.CharField(
        max_length=8, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    what_happened = models.TextField(max_length=8000, blank=True)
    what_changed = models.TextField(max_length=8000, blank=True)
    notice_title = models.CharField(
        max_length=200, blank=True, validators=[refuse_control_characters]
    )
    notice_body = models.TextField(max_length=16000, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return self.title


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField()
    text = models.TextField(max_length=4000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} at {self.at}"
