"""Invalidating the shared cache, even across an outage of it.

Two things in the cache must go the moment the database says so: a revoked token's entry (deleted)
and a workflow's cached decisions (made unreachable by bumping its plan version). Both are applied
after the change commits. If the cache is unreachable then, the invalidation is recorded as a
CacheInvalidation row instead: a Redis that comes back with its old data would otherwise serve the
revoked token for up to 10 minutes and the paused workflow's old answer for up to an hour. While a
row is pending, the API reads what it names from the database (rollout.selectors.
cache_invalidations); the sweep (`cache_invalidations_replay`, every few seconds) applies the rows
once the cache answers and only then deletes them. Applying twice is harmless: a second delete
finds nothing, a second bump is one more new version.
"""

from django.core.cache import cache

from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed
from rollout.models import CacheInvalidation, CacheInvalidationKind
from rollout.selectors.api_tokens import token_cache_key
from rollout.selectors.cache_invalidations import forget_invalidations_pending
from rollout.selectors.decision import new_plan_version, plan_version_key


def _bump_plan_version(slug: str) -> None:
    key = plan_version_key(slug)
    try:
        cache.incr(key)
    except ValueError:
        # Missing (never read, or evicted): any new value invalidates.
        cache.set(key, new_plan_version(), timeout=None)


def _apply(kind: str, target: str) -> None:
    if kind == CacheInvalidationKind.PLAN:
        _bump_plan_version(target)
    else:
        cache.delete(token_cache_key(target))


def cache_invalidate(kind: CacheInvalidationKind, target: str) -> None:
    """Apply the invalidation now; if the cache is unreachable, record it for the sweep. Call
    after the change commits (transaction.on_commit)."""
    try:
        _apply(kind, target)
    except CACHE_ERRORS as exc:
        cache_failed(exc, f"invalidating the cache ({kind.label})")
        CacheInvalidation.objects.create(kind=kind, target=target)
        forget_invalidations_pending()  # this process reads around it at once
    else:
        cache_answered()


def cache_invalidations_replay() -> int:
    """The sweep: apply every pending invalidation, then delete the rows applied. Returns how
    many distinct invalidations were applied; stops (keeping the rest) if the cache fails."""
    rows = list(CacheInvalidation.objects.order_by("pk").values_list("pk", "kind", "target"))
    applied: set[tuple[str, str]] = set()
    try:
        for _pk, kind, target in rows:
            if (kind, target) not in applied:
                _apply(kind, target)
                applied.add((kind, target))
    except CACHE_ERRORS as exc:
        cache_failed(exc, "replaying cache invalidations")
    # Only the rows read above: one recorded meanwhile is replayed by the next sweep.
    done = [pk for pk, kind, target in rows if (kind, target) in applied]
    if done:
        CacheInvalidation.objects.filter(pk__in=done).delete()
        forget_invalidations_pending()
    return len(applied)
