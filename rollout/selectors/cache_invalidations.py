"""Which cached entries the API must not trust: those named by an invalidation that failed while
the cache was unreachable and is not replayed yet (rollout.services.cache_invalidations).

Asked on every cache read of the decision endpoint and of token authentication, so the answer is
remembered per process for PENDING_CHECK_SECONDS: the warm path stays free of queries (one small
query a second per process), and a process notices a new pending invalidation within that time —
less than rollout.lib.cache.RECOVERY_GRACE_SECONDS, during which a process that saw the outage
trusts no cached entry at all.
"""

import threading
import time

from rollout.models import CacheInvalidation, CacheInvalidationKind

PENDING_CHECK_SECONDS = 1.0

_lock = threading.Lock()
_pending: tuple[float, frozenset[tuple[str, str]]] | None = None  # (valid until, pending)


def invalidations_pending() -> frozenset[tuple[str, str]]:
    """{(kind, target)} of every pending invalidation, as of at most PENDING_CHECK_SECONDS ago."""
    global _pending
    memo = _pending
    now = time.monotonic()
    if memo is not None and now < memo[0]:
        return memo[1]
    with _lock:
        if _pending is not None and now < _pending[0]:
            return _pending[1]
        pending = frozenset(CacheInvalidation.objects.values_list("kind", "target").distinct())
        _pending = (time.monotonic() + PENDING_CHECK_SECONDS, pending)
        return pending


def forget_invalidations_pending() -> None:
    """Ask the database next time (this process recorded or replayed one; tests)."""
    global _pending
    with _lock:
        _pending = None


def plan_invalidation_pending(workflow_slug: str) -> bool:
    return (CacheInvalidationKind.PLAN.value, workflow_slug) in invalidations_pending()


def token_invalidation_pending(digest: str) -> bool:
    return (CacheInvalidationKind.TOKEN.value, digest) in invalidations_pending()
