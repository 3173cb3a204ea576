"""The escalation path of a workflow: who is told, in order, when something goes wrong (the
levels). The cases that walk it are rollout.models.escalation."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class EscalationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In-app"


class EscalationLevel(models.Model):
    """One level of a workflow's escalation path: who is told, how, and how long they have to
    acknowledge before the next level is told."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="escalation_levels"
    )
    position = models.PositiveSmallIntegerField("level")
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalation_levels"
    )
    channel = models.CharField(max_length=10, choices=EscalationChannel.choices)
    response_target_minutes = models.PositiveIntegerField(
        "response target (minutes)",
        validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 14)],
    )

    class Meta:
        ordering = ["workflow", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "position"], name="escalation_level_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Level {self.position}: {self.contact}"
