"""Invalidation of cached rollout decisions.

Each workflow has a plan version in the cache; decision keys include it, so bumping the version
makes every cached decision for that workflow unreachable at once (they then expire on their own).
"""

from django.core.cache import cache
from django.db import transaction

from rollout.lib import local_memo
from rollout.lib.cache import CACHE_ERRORS, cache_failed
from rollout.models import Workflow
from rollout.selectors.decision import new_plan_version, plan_version_key


def _bump(slug: str) -> None:
    key = plan_version_key(slug)
    try:
        cache.incr(key)
    except ValueError:
        # Missing (never read, or evicted): any new value invalidates.
        cache.set(key, new_plan_version(), timeout=None)


def plan_changed(workflow: Workflow) -> None:
    """Call from any service that changes what `decide` would answer for this workflow. Bumps the
    version after commit, so readers never cache a decision computed from the old plan."""
    slug = workflow.slug

    def invalidate() -> None:
        local_memo.forget(f"decision:{slug}:")
        try:
            _bump(slug)
        except CACHE_ERRORS as exc:
            cache_failed(exc, "invalidating cached rollout decisions")

    transaction.on_commit(invalidate)
