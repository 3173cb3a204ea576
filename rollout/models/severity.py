"""Severity, shared by feedback, escalations and incidents."""

from django.db import models


class Severity(models.TextChoices):
    """Set at triage (feedback) or when opened (escalations, incidents). `critical` is the highest:
    it opens an escalation, and an open critical escalation blocks promotion."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"
