"""Blackout windows: times when no promotion runs and no change takes effect (rule 10)."""

from django.conf import settings
from django.db import models

from core.text import refuse_control_characters


class BlackoutWindow(models.Model):
    """A period in which no promotion or effective change may be scheduled. Org-wide when
    `workflow` is empty."""

    workflow = models.ForeignKey(
        "rollout.Workflow",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="blackouts",
    )
    name = models.CharField(max_length=120, validators=[refuse_control_characters])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="blackout_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name
