"""An invalidation of the shared cache that could not be applied while the cache was unreachable."""

from django.db import models


class CacheInvalidationKind(models.TextChoices):
    PLAN = "plan", "Plan changed: the workflow's cached decisions"
    TOKEN = "token", "Token revoked: its cached entry"


class CacheInvalidation(models.Model):
    """Pending until rollout.services.cache_invalidations replays it into the cache.

    While one is pending, the API reads what it names from the database: a Redis that comes back
    with its old data would otherwise serve a revoked token or a paused workflow's old answer.
    `target` is the workflow's slug (PLAN) or the token's SHA-256 (TOKEN).
    """

    kind = models.CharField(max_length=8, choices=CacheInvalidationKind.choices)
    target = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.target})"
