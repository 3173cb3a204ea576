"""Invalidation of cached rollout decisions.

Each workflow has a plan version in the cache; decision keys include it, so bumping the version
makes every cached decision for that workflow unreachable at once (they then expire on their own).
A bump the cache could not take is recorded and replayed (rollout.services.cache_invalidations).
"""

from django.db import transaction

from rollout.lib import local_memo
from rollout.models import CacheInvalidationKind, Workflow
from rollout.services.cache_invalidations import cache_invalidate


def plan_changed(workflow: Workflow) -> None:
    """Call from any service that changes what `decide` would answer for this workflow. Bumps the
    version after commit, so readers never cache a decision computed from the old plan."""
    slug = workflow.slug

    def invalidate() -> None:
        local_memo.forget(f"decision:{slug}:")
        cache_invalidate(CacheInvalidationKind.PLAN, slug)

    transaction.on_commit(invalidate)
