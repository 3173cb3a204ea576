from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.text import refuse_control_characters


class ApiTokenStatus(models.TextChoices):
    """Where a token stands at a moment (ApiToken.status_at)."""

    ACTIVE = "active", "Active"
    # Rotated: a newer token replaces it, and it keeps working until its grace period ends.
    REPLACED = "replaced", "Replaced"
    # Rotated, and the grace period is over: refused, as a revoked token is.
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class RotationGrace(models.IntegerChoices):
    """How long a rotated token keeps working beside its replacement, in seconds."""

    NONE = 0, "No grace period: it stops now"
    HOUR = 3600, "1 hour"
    DAY = 86400, "24 hours"
    WEEK = 604800, "7 days"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> "ApiTokenQuerySet":
        """Neither revoked nor replaced: the tokens that hold their name (see the constraint)."""
        return self.filter(revoked_at__isnull=True, expires_at__isnull=True)

    def usable(self, now: datetime) -> "ApiTokenQuerySet":
        """The tokens the API accepts at `now`: not revoked, and not past a grace period."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for the JSON API, scoped to one workflow.

    Only the SHA-256 of the token is stored: the token itself is shown once, when it is created.
    `prefix` (the token's first characters after `ro_`) lets people tell their tokens apart.

    Rotation (rollout.services.api_tokens.api_token_rotate) creates a new token that `replaces`
    this one and sets this one's `expires_at`, the end of its grace period: until then both work.
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
    # One-to-one: a token is replaced at most once, which the database enforces too.
    replaces = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
    )
    # Set when the token is rotated: the end of its grace period, after which it is refused.
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the activity log recorded the end of the grace period (the sweep
    # api_tokens_record_expired); the token is refused from expires_at on whether or not it ran.
    expiry_recorded_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Two active tokens with one name could not be told apart on the tokens page. A
            # replaced token (in its grace period) leaves its name to its replacement: the page
            # marks it "Replaced" with the time it stops working.
            models.UniqueConstraint(
                fields=["workflow", "name"],
                condition=models.Q(revoked_at__isnull=True, expires_at__isnull=True),
                name="api_token_unique_active_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def status_at(self, now: datetime) -> ApiTokenStatus:
        if self.revoked_at is not None:
            return ApiTokenStatus.REVOKED
        if self.expires_at is None:
            return ApiTokenStatus.ACTIVE
        return ApiTokenStatus.REPLACED if now < self.expires_at else ApiTokenStatus.EXPIRED

    @property
    def status(self) -> ApiTokenStatus:
        return self.status_at(timezone.now())
