from django.conf import settings
from django.db import models

from core.text import refuse_control_characters


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the JSON API, scoped to one workflow.

    Only the SHA-256 of the token is stored: the token itself is shown once, when it is created.
    `prefix` (the token's first characters after `ro_`) lets people tell their tokens apart.
    """

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80, validators=[refuse_control_characters])
    prefix = models.CharField(max_length=8)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Two active tokens with one name could not be told apart on the tokens page.
            models.UniqueConstraint(
                fields=["workflow", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_unique_active_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
