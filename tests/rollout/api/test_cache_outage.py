"""The API while the cache Redis is unreachable (issue 13): the database answers instead.

The cache is a redis-server of the test's own (tests.redis_server): an outage is its port really
closed, not a mock, and "Redis comes back" is the same server restarted from its dump.
"""

import logging

import pytest
from django.core.cache import cache
from django.test import Client

from rollout import tasks
from rollout.lib import local_memo
from rollout.lib.cache import forget_outage
from rollout.selectors.api_tokens import token_cache_key
from rollout.selectors.decision import decision_memo_key
from rollout.services.api_tokens import api_token_revoke
from rollout.services.phase_control import phase_pause
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.api.test_events import item, post
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

FALLBACK = {"mode": "shadow", "phase": "limited", "cohort": None, "config_version": 1}

SLUG = "support-reply-drafting"
LIVE = {
    "mode": "live",
    "phase": "limited",
    "cohort": "Tier 1",
    "config_version": 1,
    "review_level": "every",
}


def ask(client: Client, token: IssuedToken, user: str) -> object:
    return client.get("/api/v1/decision", {"workflow": SLUG, "user": user}, headers=token.headers)


def test_the_api_answers_from_the_database_while_the_cache_is_down(
    api_client, api_token, workflow, member, redis_cache, caplog
):
    make_plan(workflow, current="limited")
    assert ask(api_client, api_token, member.email).json() == LIVE  # warm, through Redis

    redis_cache.stop()
    local_memo.forget_all()  # another web process, or a second later
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = ask(api_client, api_token, member.email)
            assert response.status_code == 200
            assert response.json() == LIVE
            local_memo.forget_all()
        # A token this process never saw, asking about someone it never asked about.
        assert ask(api_client, api_token, "someone@example.com").status_code == 200
        events = post(api_client, api_token, {"events": [item()]})
        assert events.status_code == 200, events.content
        assert events.json()["accepted"] == 1

    outage_logs = [r for r in caplog.records if "cache" in r.getMessage().lower()]
    assert len(outage_logs) == 1, [r.getMessage() for r in outage_logs]


def test_the_rate_limit_falls_back_to_a_local_one(
    api_client, api_token, workflow, redis_cache, settings
):
    settings.ROLLOUT_API_RATE_PER_MINUTE = 2
    redis_cache.stop()
    answers = [ask(api_client, api_token, "anyone@example.com").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_healthz_is_degraded_not_unavailable_while_the_cache_is_down(client, redis_cache, settings):
    transport = settings.CELERY_BROKER_URL.split("://", 1)[0]
    healthy = client.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.json()["cache"] == "ok"

    redis_cache.stop()
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "broker": "ok",
        "broker_transport": transport,
        "cache": "degraded",
    }


# --- No stale answer after the outage -----------------------------------------------------------


def a_process_that_never_saw_the_outage() -> None:
    """What another web process knows once Redis is back: nothing but the shared cache and the
    database (no memo, no memory of the outage)."""
    local_memo.forget_all()
    forget_outage()


def test_a_pause_during_the_outage_holds_when_redis_returns_with_its_old_data(
    api_client,
    api_token,
    workflow,
    member,
    ops_leader,
    redis_cache,
    django_capture_on_commit_callbacks,
):
    make_plan(workflow, current="limited")
    assert ask(api_client, api_token, member.email).json() == LIVE  # cached in Redis

    redis_cache.stop()
    with django_capture_on_commit_callbacks(execute=True):
        phase_pause(workflow=workflow, actor=ops_leader, fallback_mode="shadow", reason="Outage")
    assert ask(api_client, api_token, member.email).json() == FALLBACK

    redis_cache.start()  # with its old data: the old plan version and the "live" answer
    assert cache.get(decision_memo_key(SLUG, member.email)) is not None
    local_memo.forget_all()
    assert ask(api_client, api_token, member.email).json() == FALLBACK
    a_process_that_never_saw_the_outage()
    assert ask(api_client, api_token, member.email).json() == FALLBACK

    assert tasks.replay_cache_invalidations() == 1  # the sweep bumps the version after all
    assert tasks.replay_cache_invalidations() == 0
    a_process_that_never_saw_the_outage()
    assert ask(api_client, api_token, member.email).json() == FALLBACK


def test_a_revocation_during_the_outage_holds_when_redis_returns_with_its_old_data(
    api_client,
    api_token,
    workflow,
    workflow_owner,
    redis_cache,
    django_capture_on_commit_callbacks,
):
    assert ask(api_client, api_token, "anyone@example.com").status_code == 200  # token cached

    redis_cache.stop()
    with django_capture_on_commit_callbacks(execute=True):
        api_token_revoke(token=api_token.token, actor=workflow_owner)
    assert ask(api_client, api_token, "anyone@example.com").status_code == 401

    redis_cache.start()  # with its old data: the revoked token's entry
    key = token_cache_key(api_token.token.token_hash)
    assert cache.get(key) is not None
    local_memo.forget_all()
    assert ask(api_client, api_token, "anyone@example.com").status_code == 401
    a_process_that_never_saw_the_outage()
    assert ask(api_client, api_token, "anyone@example.com").status_code == 401

    assert tasks.replay_cache_invalidations() == 1  # the sweep deletes the entry after all
    assert cache.get(key) is None
    a_process_that_never_saw_the_outage()
    assert ask(api_client, api_token, "anyone@example.com").status_code == 401
