"""Django's Redis cache, reusing one Redis client per connection pool, failing fast; and the
bookkeeping of a cache outage, so its callers degrade to the database instead of failing.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call, and building one
costs more than the round trip itself (~0.15 ms of Python per call, measured by `make bench`): on
the decision endpoint, which makes a few cache calls per request, that was most of its time.
A redis-py client is thread-safe over its pool, so one per pool is enough.

redis-py's own default retries a refused connection ten times with exponential backoff (3.7 s
measured per call): during an outage every API request waited that long, then failed. The cache
is an optimisation in front of the database, so a call here tries once more at once (a stale pooled
connection after a Redis restart) and otherwise gives up within a second.
"""

import logging
import threading
import time

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# What an unreachable or stalled cache raises (redis-py's, and the socket's own).
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)

FAIL_FAST_OPTIONS = {
    "retry": Retry(NoBackoff(), retries=1),
    "socket_connect_timeout": 1.0,
    "socket_timeout": 1.0,
}


class ReusingRedisCacheClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        # Fail fast unless the configuration says otherwise (see the module docstring).
        params = {**params, "OPTIONS": {**FAIL_FAST_OPTIONS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def count_in_window(self, key: str, timeout: int, amount: int = 1) -> int:
        """INCR and set the expiry if none, in one round trip (Django's incr() takes two: EXISTS
        then INCRBY). Used by the API's rate limit."""
        full_key = self.make_and_validate_key(key)
        client = self._cache.get_client(full_key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key, amount)
        pipe.expire(full_key, timeout, nx=True)
        count, _ = pipe.execute()
        return int(count)


# --- Outage bookkeeping (per process) ------------------------------------------------------------
# Callers catch CACHE_ERRORS, answer from the database and report it here; a success reports the
# cache answering again. The log says so once when an outage starts and once when it ends, not on
# every request of a 30 s outage at thousands of requests a second.
#
# After an outage the cache may hold what the outage kept it from forgetting (a revoked token, a
# paused workflow's answer). Invalidations that failed are recorded in the database
# (rollout.services.cache_invalidations) and the API reads around them while they are pending; for
# RECOVERY_GRACE_SECONDS after the cache answers again, longer than a process takes to notice a new
# pending one (rollout.selectors.cache_invalidations), this process trusts no cached entry at all.

RECOVERY_GRACE_SECONDS = 2.0

_outage_lock = threading.Lock()
_down_since: float | None = None
_back_at: float | None = None


def cache_failed(exc: BaseException, doing: str) -> None:
    """The cache raised `exc` while `doing` something; the caller falls back to the database."""
    global _down_since
    with _outage_lock:
        if _down_since is not None:
            return
        _down_since = time.monotonic()
    logger.warning("The cache is unreachable (%s: %r); answering from the database.", doing, exc)


def cache_answered() -> None:
    """A cache call succeeded: an outage this process saw is over."""
    global _down_since, _back_at
    if _down_since is None:  # the common case, without the lock
        return
    with _outage_lock:
        if _down_since is None:
            return
        _back_at = time.monotonic()
        seconds, _down_since = _back_at - _down_since, None
    logger.warning("The cache answers again after %.1f s.", seconds)


def cache_down() -> bool:
    """Whether this process's last cache call failed."""
    return _down_since is not None


def cache_trusted() -> bool:
    """Whether this process may answer from cached entries: not during an outage it saw, nor
    for RECOVERY_GRACE_SECONDS after it."""
    global _back_at
    if _down_since is not None:
        return False
    if _back_at is None:  # the common case
        return True
    if time.monotonic() - _back_at < RECOVERY_GRACE_SECONDS:
        return False
    _back_at = None
    return True


def forget_outage() -> None:
    """Back to "no outage seen" (tests; a new process starts so)."""
    global _down_since, _back_at
    with _outage_lock:
        _down_since = _back_at = None
