"""Invalidations the cache missed while unreachable: recorded, read around, replayed once
(rollout.services.cache_invalidations), against a redis-server of the test's own."""

import pytest
from django.core.cache import cache

from rollout.lib import cache as cache_lib
from rollout.models import CacheInvalidation, CacheInvalidationKind
from rollout.selectors.cache_invalidations import (
    invalidations_pending,
    plan_invalidation_pending,
)
from rollout.selectors.decision import plan_version, plan_version_key
from rollout.services.cache_invalidations import cache_invalidate, cache_invalidations_replay

pytestmark = pytest.mark.django_db

SLUG = "support-reply-drafting"
DIGEST = "a" * 64


def test_an_applied_invalidation_records_nothing(redis_cache):
    version = plan_version(SLUG)
    cache_invalidate(CacheInvalidationKind.PLAN, SLUG)
    assert plan_version(SLUG) != version
    assert not CacheInvalidation.objects.exists()


def test_a_missed_one_is_pending_until_the_cache_answers_and_the_sweep_applies_it(redis_cache):
    version = plan_version(SLUG)
    redis_cache.stop()
    cache_invalidate(CacheInvalidationKind.PLAN, SLUG)
    cache_invalidate(CacheInvalidationKind.PLAN, SLUG)  # twice: replayed once
    cache_invalidate(CacheInvalidationKind.TOKEN, DIGEST)
    assert plan_invalidation_pending(SLUG)

    assert cache_invalidations_replay() == 0  # still down: everything kept
    assert CacheInvalidation.objects.count() == 3

    redis_cache.start()
    assert cache.get(plan_version_key(SLUG)) == int(version)  # the old data is back
    assert cache_invalidations_replay() == 2
    assert cache.get(plan_version_key(SLUG)) != int(version)
    assert not CacheInvalidation.objects.exists()
    assert invalidations_pending() == frozenset()


def test_the_pending_set_is_read_at_most_once_a_second(django_assert_num_queries):
    invalidations_pending()
    with django_assert_num_queries(0):
        for _ in range(100):
            invalidations_pending()


def test_a_process_trusts_the_cache_again_only_after_a_grace_period(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(cache_lib.time, "monotonic", lambda: now[0])
    assert cache_lib.cache_trusted()
    cache_lib.cache_failed(ConnectionError("refused"), "a test")
    assert not cache_lib.cache_trusted()
    now[0] += 30
    cache_lib.cache_answered()
    assert not cache_lib.cache_trusted()
    now[0] += cache_lib.RECOVERY_GRACE_SECONDS
    assert cache_lib.cache_trusted()
