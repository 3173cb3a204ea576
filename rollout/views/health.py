from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from rollout.lib.cache import CACHE_ERRORS

HEALTH_PROBE_KEY = "healthz-probe"


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _cache_ok() -> bool:
    try:
        cache.get(HEALTH_PROBE_KEY)
    except CACHE_ERRORS:
        return False
    return True


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers. No auth.

    503 only when the database is unreachable: without it nothing works. The cache and the broker
    are helpers — the API answers from the database without the cache, and the sweeps catch up on
    what a lost wake-up missed — so either one down is 200 with status "degraded": a load balancer
    must not pull every node because a shared Redis is down.
    """
    database, broker, cache_up = _database_ok(), _broker_ok(), _cache_ok()
    if not database:
        status = "unavailable"
    elif broker and cache_up:
        status = "ok"
    else:
        status = "degraded"
    return JsonResponse(
        {
            "status": status,
            "database": "ok" if database else "unreachable",
            "broker": "ok" if broker else "unreachable",
            "broker_transport": settings.CELERY_BROKER_URL.split("://", 1)[0],
            "cache": "ok" if cache_up else "degraded",
        },
        status=200 if database else 503,
    )
