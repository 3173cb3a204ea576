"""Invalidation of cached rollout decisions.

Each workflow has a plan version in the cache; decision keys include it, so bumping the version
makes every cached decision for that workflow unreachable at once (they then expire on their own).
A bump the cache could not take is recorded and replayed (rollout.services.cache_invalidations).
"""

from django.db import connection, transaction

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

    invalidate.plan_of = slug  # for plan_change_uncommitted
    transaction.on_commit(invalidate)


def plan_change_uncommitted(workflow_slug: str) -> bool:
    """Whether the transaction under way changed the workflow's plan (plan_changed) and has not
    committed it: its version is not bumped yet, so nothing computed in this transaction may be
    remembered under the version, nor anything remembered under it be used here."""
    return any(
        getattr(callback, "plan_of", None) == workflow_slug
        for _, callback, *_ in connection.run_on_commit
    )
