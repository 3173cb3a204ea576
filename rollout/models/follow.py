"""Following a workflow: hearing of its change notices without being in a cohort."""

from django.conf import settings
from django.db import models


class Follow(models.Model):
    """Someone who wants a workflow's notices and phase changes without a role in it."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="follows"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "user"], name="follow_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.workflow}"
