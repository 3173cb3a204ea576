"""Invalidation of cached rollout decisions.

Each workflow has a plan version in the cache; decision keys include it, so bumping the version
makes every cached decision for that workflow unreachable at once (they then expire on their own).
"""

import secrets

from django.core.cache import cache
from django.db import transaction

from rollout import local_memo
from rollout.models import Workflow


def plan_version_key(slug: str) -> str:
    return f"decision-plan-version:{slug}"


def _fresh() -> int:
    # An integer, so every backend's incr() works on it.
    return secrets.randbits(48)


def plan_version(slug: str) -> str:
    """The current plan version of the workflow `slug` (created on first use)."""
    key = plan_version_key(slug)
    version = cache.get(key)
    if version is None:
        # A random start, not 0: after an eviction the version must not repeat an old one. add()
        # keeps a version another process set in the meantime; read back whichever won.
        cache.add(key, _fresh(), timeout=None)
        version = cache.get(key)
    return str(version)


def _bump(slug: str) -> None:
    key = plan_version_key(slug)
    try:
        cache.incr(key)
    except ValueError:
        # Missing (never read, or evicted): any new value invalidates.
        cache.set(key, _fresh(), timeout=None)


def plan_changed(workflow: Workflow) -> None:
    """Call from any service that changes what `decide` would answer for this workflow. Bumps the
    version after commit, so readers never cache a decision computed from the old plan."""
    slug = workflow.slug

    def invalidate() -> None:
        _bump(slug)
        local_memo.forget(f"decision:{slug}:")

    transaction.on_commit(invalidate)
