"""Figures: the usage page and the metrics API, 30 and 180 days, timed in absolute milliseconds —
so only on an idle machine (bench/machine.py) — and their query counts at two data sizes, which
must be equal (a page's queries do not grow with the data)."""

import time
from datetime import timedelta

from bench import client
from bench.machine import IdleWait, load
from bench.report import emit, log
from bench.resources import CACHE_DB, PREFIX, redis_url

REQUESTS = 60
FIRST_VIEWS = 20
TARGET_MS = {30: 30, 180: 100}
# What the usage page keeps in the cache between views (rollout/views/_usage_sections.py).
KEPT_PATTERNS = ("*template.cache.usage-sections.*", "*usage-members:*")


def forget_kept(redis_base: str) -> int:
    """Deletes what the run's cache keeps of the usage page, as a change to the data shown
    would make it unreachable: the next view computes and renders every section."""
    import redis

    client = redis.Redis.from_url(f"{redis_base}/{CACHE_DB}")
    keys = [
        key
        for pattern in KEPT_PATTERNS
        for key in client.scan_iter(match=f"{PREFIX}:{pattern}", count=1000)
    ]
    return client.delete(*keys) if keys else 0


def page_cases(world: dict) -> list[tuple[str, str, str, dict, int]]:
    """(figure, title, path, headers, days)."""
    from django.conf import settings
    from django.utils import timezone

    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={world['session']}"}
    auth = {"Authorization": f"Bearer {world['token']}"}
    slug = world["slug"]
    today = timezone.localdate()
    cases = []
    for days in (30, 180):
        start = today - timedelta(days=days - 1)
        cases.append(
            (
                f"usage_page_{days}_days",
                f"usage page, {days} days",
                f"/workflows/{slug}/usage/?days={days}",
                cookie,
                days,
            )
        )
        cases.append(
            (
                f"metrics_api_{days}_days",
                f"metrics API, {days} days",
                f"/api/v1/workflows/{slug}/metrics?from={start}&to={today}",
                auth,
                days,
            )
        )
    return cases


def query_counts(world: dict) -> dict[str, int]:
    """Queries per page, counted in-process (the owner's session, the workflow's token), each on
    its second request: the first also fills the caches (the token, the plan version), at any
    data size alike."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    signed_in = Client()
    signed_in.force_login(User.objects.get(pk=world["owner_id"]))
    counts = {}
    for name, _, path, headers, _ in page_cases(world):
        browser = Client(headers=headers) if "Authorization" in headers else signed_in
        browser.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = browser.get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code} in-process")
        counts[name] = len(captured)
    return counts


def _first_view_queries(world: dict, path: str, redis_base: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    browser = Client()
    browser.force_login(User.objects.get(pk=world["owner_id"]))
    browser.get(path)  # the session, the plan version
    forget_kept(redis_base)
    with CaptureQueriesContext(connection) as captured:
        browser.get(path)
    return len(captured)


def _first_views(world: dict, port: int, redis_base: str, events: int, idle: IdleWait) -> None:
    """The usage page when nothing of it is kept (each view follows a change to its data): p95
    of FIRST_VIEWS views, each after forget_kept(). Reported, not a target: the targets are for
    the page as people look at it again and again between the rollups' runs."""
    for name, title, path, headers, _days in page_cases(world):
        if not name.startswith("usage_page"):
            continue
        queries = _first_view_queries(world, path, redis_base)
        machine = idle.wait(log)
        times = []
        for _ in range(FIRST_VIEWS):
            forget_kept(redis_base)
            times += client.timed_gets(port, path, headers, 1)
        machine["load_1m_after"] = load()
        emit(
            {
                "figure": f"{name}_first_view",
                "title": f"{title}, a first view (nothing kept: after the data shown changed)",
                "unit": "ms",
                "p95_ms": round(client.percentile(times, 0.95), 1),
                "median_ms": round(client.percentile(times, 0.5), 1),
                "requests": FIRST_VIEWS,
                "events_in_table": events,
                "queries": queries,
                "machine": machine,
                "first_view": True,
                **({} if machine["idle"] else {"note": "machine busy"}),
                "target": "reported (each on a new connection)",
                "met": None,
            }
        )


def bench_pages(world: dict, port: int, few: dict[str, int], few_events: int) -> None:
    from rollout.models import UsageEvent

    events = UsageEvent.objects.count()
    many = query_counts(world)
    idle = IdleWait()
    for name, title, path, headers, days in page_cases(world):
        client.timed_gets(port, path, headers, 5)  # warm-up: connections, caches
        machine = idle.wait(log)
        started = time.monotonic()
        times = client.timed_gets(port, path, headers, REQUESTS)
        machine["load_1m_after"] = load()
        p95 = client.percentile(times, 0.95)
        target = TARGET_MS[days]
        emit(
            {
                "figure": name,
                "title": title,
                "unit": "ms",
                "p95_ms": round(p95, 1),
                "median_ms": round(client.percentile(times, 0.5), 1),
                "requests": REQUESTS,
                "seconds": round(time.monotonic() - started, 1),
                "events_in_table": events,
                "queries": many[name],
                "queries_with_fewer_events": few[name],
                "fewer_events": few_events,
                "constant_queries": many[name] == few[name],
                "machine": machine,
                **({} if machine["idle"] else {"note": "machine busy"}),
                "target": f"p95 < {target} ms and the same queries at both sizes",
                "met": p95 < target and many[name] == few[name],
            }
        )
    redis_base = redis_url()
    if redis_base is None:
        log("no Redis: the usage page's first views are not timed (the server's cache is its own)")
    else:
        _first_views(world, port, redis_base, events, idle)
