from django.conf import settings
from django.db import models

from rollout.lib.activity_changes import ChangeRow, change_rows, change_summary


class ActivityEntry(models.Model):
    """One recorded change: who did what to which thing, with before → after of changed fields.

    Written by services in the same transaction as the change itself. `changes` maps a field
    label to `[before, after]` (strings, for display).
    """

    workflow = models.ForeignKey(
        "rollout.Workflow",
        on_delete=models.CASCADE,
        related_name="activity",
        null=True,
        blank=True,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted on its own (a scheduler, a breach).",
    )
    verb = models.CharField(max_length=60)
    target = models.CharField(max_length=200, help_text="What was acted on, for people to read.")
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workflow", "-created_at", "-id"])]
        verbose_name_plural = "activity entries"

    def __str__(self) -> str:
        return f"{self.verb} {self.target}"

    @property
    def change_rows(self) -> list[ChangeRow]:
        """`changes` made readable (rollout.lib.activity_changes)."""
        return change_rows(self.changes)

    @property
    def change_summary(self) -> str:
        return change_summary(self.changes)
