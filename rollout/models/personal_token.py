from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.text import refuse_control_characters


class PersonalTokenScope(models.TextChoices):
    """What a personal access token may do: read, or also write (within its person's rights)."""

    READ = "read", "Read"
    WRITE = "write", "Read and write"


class PersonalTokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class PersonalTokenQuerySet(models.QuerySet["PersonalToken"]):
    def usable(self, now: datetime) -> "PersonalTokenQuerySet":
        """The tokens the management API accepts at `now` (its person must be active too)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)


class PersonalToken(models.Model):
    """A person's bearer token for the management API (/api/v1/ … rollout.api.manage).

    It acts with exactly its person's permissions, never more (rollout.permissions decides, as for
    their pages), and never manages people, roles, tokens or approvals (core.acting). Only the
    SHA-256 of the token is stored: the plaintext is shown once, when it is created. `prefix` (the
    first characters after `rop_`) lets people tell their tokens apart. Every token expires: at
    most a year after it was created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    name = models.CharField(max_length=80, validators=[refuse_control_characters])
    prefix = models.CharField(max_length=8)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=5, choices=PersonalTokenScope.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = PersonalTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Two live tokens of one person with one name could not be told apart on the page.
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="personal_token_unique_active_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == PersonalTokenScope.WRITE

    def status_at(self, now: datetime) -> PersonalTokenStatus:
        if self.revoked_at is not None:
            return PersonalTokenStatus.REVOKED
        if now >= self.expires_at:
            return PersonalTokenStatus.EXPIRED
        return PersonalTokenStatus.ACTIVE

    @property
    def status(self) -> PersonalTokenStatus:
        return self.status_at(timezone.now())


class IdempotentRequest(models.Model):
    """The first answer to a create sent with an `Idempotency-Key` header (issue 20 §4).

    Kept 24 hours per (token, method, path, key): a retry with the same key and body gets the
    stored status and body again instead of creating twice. `status` is null while the first
    request is still being answered (a concurrent duplicate then answers 409). `body_hash` is the
    SHA-256 of the request body: the same key with another body answers 422.
    """

    token = models.ForeignKey(
        PersonalToken, on_delete=models.CASCADE, related_name="idempotent_requests"
    )
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "method", "path", "key"], name="idempotent_request_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
