"""Rate limiting per API token: at most ROLLOUT_API_RATE_PER_MINUTE requests in a minute.

A fixed one-minute window counted in Django's cache, keyed by the token's primary key: one
cache increment per request and no database query. ninja's own SimpleRateThrottle keeps a list
of every request's timestamp in one cache entry (6,000 floats read and rewritten per request at
the default rate, and lost updates under concurrency); a counter is atomic on Redis and LocMem.
A fixed window lets a client send up to twice the rate across a window boundary, which is fine
for a limit that protects capacity rather than enforcing a quota.
"""

import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed
from rollout.models import ApiToken, PersonalToken

logger = logging.getLogger(__name__)

DEFAULT_RATE_PER_MINUTE = 6000
WINDOW_SECONDS = 60


def clock() -> float:
    """Seconds since the epoch; a function of its own so tests can move time."""
    return time.time()


def rate_per_minute() -> int:
    return int(getattr(settings, "ROLLOUT_API_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE))


def _shared_count(key: str, amount: int) -> int:
    """Adds `amount` to the window `key` in the shared cache; returns the window's total."""
    count_in_window = getattr(cache, "count_in_window", None)
    if count_in_window is not None:  # Redis (rollout.lib.cache): one round trip instead of two
        return count_in_window(key, 2 * WINDOW_SECONDS, amount)
    try:
        return cache.incr(key, amount)
    except ValueError:
        # The window's first request. add() is atomic: if another request opened the window
        # meanwhile, count this one on top of it. Two windows of lifetime outlast clock skew.
        if cache.add(key, amount, timeout=2 * WINDOW_SECONDS):
            return amount
        return cache.incr(key, amount)


# Counting every request in the shared cache costs a round trip per request on the hottest
# endpoint. Each process instead adds its requests up in batches of `flush_every()`: one per
# thousandth of the rate (at most 100), so the limit is exact for small rates and off by at most
# 0.1 % of the rate per process for large ones.
_pending_lock = threading.Lock()
# window key → (uncounted requests, last shared total, every request this process saw in it)
_pending: dict[str, tuple[int, int, int]] = {}


def forget_local_counts() -> None:
    """This process's uncounted requests and last totals (tests start each from nothing)."""
    with _pending_lock:
        _pending.clear()


def flush_every() -> int:
    return min(100, max(1, rate_per_minute() // 1000))


def _window_count(key: str) -> int:
    """Counts this request in the window `key` and returns the window's count so far.

    While the cache is unreachable, the count is this process's own requests in the window: each
    process then limits on its own, so the whole allows at most the rate times the number of web
    processes — a limit still, where failing open entirely would be none.
    """
    with _pending_lock:
        if key not in _pending:
            _pending.clear()  # a new window: the old ones are over
        pending, known, seen = _pending.get(key, (0, 0, 0))
        pending, seen = pending + 1, seen + 1
        if pending < flush_every():
            _pending[key] = (pending, known, seen)
            return known + pending
        _pending[key] = (0, known, seen)
    try:
        total = _shared_count(key, pending)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "counting API requests")
        return seen
    cache_answered()
    with _pending_lock:
        if key in _pending:
            uncounted, last_total, seen = _pending[key]
            _pending[key] = (uncounted, max(total, last_total), seen)
    return total


class TokenRateThrottle(BaseThrottle):
    """Throttles requests authenticated by an ApiToken or a PersonalToken (each token its own
    window); leaves any other request alone.

    429 (MSG_RATE_LIMITED) with Retry-After: the whole seconds until the window ends.
    """

    def allow_request(self, request: HttpRequest) -> bool:
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            kind = "api-rate"
        elif isinstance(token, PersonalToken):
            kind = "personal-rate"
        else:
            return True
        window = int(clock() // WINDOW_SECONDS)
        try:
            count = _window_count(f"{kind}:{token.pk}:{window}")
        except Exception:
            # An unreachable cache is counted locally (above); anything else the cache does
            # wrong must not take the API down with it either: the limit protects capacity,
            # so failing open for a while is the lesser harm.
            logger.exception("API rate limit not checked: the cache failed")
            return True
        return count <= rate_per_minute()

    def wait(self) -> float:
        # Stateless on purpose: one throttle instance serves every request and thread, and in a
        # fixed window the wait is the same for everyone, the time until the window ends.
        return float(max(1, math.ceil(WINDOW_SECONDS - clock() % WINDOW_SECONDS)))
