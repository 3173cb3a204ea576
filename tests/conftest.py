import os

# Playwright's sync API runs an event loop in the test thread; Django refuses sync DB access from
# inside one unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from accounts.models import User  # noqa: E402
from rollout.models import Workflow  # noqa: E402
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    """Launch Debian's Chromium (never a downloaded browser) with the flags this machine needs."""
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def ops_leader(db) -> User:
    return ops_leader_user(email="ops@example.com", display_name="Olivia Ops")


@pytest.fixture
def executive(db) -> User:
    return executive_user(email="exec@example.com", display_name="Evan Exec")


@pytest.fixture
def workflow_owner(db) -> User:
    return UserFactory(email="owner@example.com", display_name="Owen Owner")


@pytest.fixture
def other_user(db) -> User:
    """A signed-in user with no role on anything."""
    return UserFactory(email="stranger@example.com", display_name="Sam Stranger")


@pytest.fixture
def workflow(workflow_owner: User, ops_leader: User) -> Workflow:
    return make_workflow(
        owner=workflow_owner,
        actor=ops_leader,
        name="Support reply drafting",
        slug="support-reply-drafting",
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached rollout decisions must never leak from one test into the next."""
    from django.core.cache import cache

    from accounts.services import forget_local_reset_counts
    from rollout.api.throttling import forget_local_counts
    from rollout.lib import local_memo
    from rollout.lib.cache import forget_outage
    from rollout.selectors.cache_invalidations import forget_invalidations_pending

    forgets = (
        cache.clear,
        local_memo.forget_all,
        forget_local_counts,
        forget_local_reset_counts,
        forget_outage,
        forget_invalidations_pending,
    )
    for forget in forgets:
        forget()
    yield
    for forget in forgets:
        forget()


@pytest.fixture
def redis_cache(tmp_path: Path, settings) -> Iterator[RedisServer]:
    """The default cache on a redis-server of this test's own, as production configures it."""
    server = RedisServer(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {"BACKEND": "rollout.lib.cache.ReusingRedisCache", "LOCATION": server.url}
    }
    try:
        yield server
    finally:
        server.kill()
