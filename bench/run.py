"""`make bench`: Rollout's speed targets, each measured against a baseline in the same run.

Runs on PostgreSQL: a dedicated database `<name>_bench` next to DATABASE_URL's (default
postgres://postgres@127.0.0.1:5432/rollout), dropped and made afresh, so nothing of yours is
touched. Uses Redis as broker and cache when REDIS_URL answers (default redis://127.0.0.1:6379).
Prints one JSON object per line:

* ingest: events/s through POST /api/v1/events (gunicorn, concurrent clients, batches of 1,000)
  against a raw psycopg COPY of the same rows into the same table — target ≥ 30 % of COPY;
* decision: requests/s and p99 of GET /api/v1/decision (wrk, warm cache) against a bare Django
  view returning the same JSON under the same server — target ≥ 70 % of its requests/s;
* usage_page and metrics_api: p95 time per request with BENCH_EVENTS (default 10 million) events
  in the table — target under 100 ms — and their query counts at that size and with only the
  ingestion figure's events (constant whatever the data size).

Knobs: BENCH_EVENTS, BENCH_INGEST_BATCHES (default 120), BENCH_SECONDS (wrk duration, default 10),
BENCH_WORKERS (gunicorn workers, default 2), BENCH_PORT (default 8911).
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
INGEST_BATCHES = int(os.environ.get("BENCH_INGEST_BATCHES", "120"))
INGEST_CLIENTS = 4
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PORT = int(os.environ.get("BENCH_PORT", "8911"))
MEMBERS = 500
PAGE_REQUESTS = 60


def log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def emit(**figures: object) -> None:
    print(json.dumps(figures), flush=True)


# --- environment ---------------------------------------------------------------------------------


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/rollout"
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("make bench runs on PostgreSQL: set DATABASE_URL=postgres://…")
    name = parts.path.lstrip("/") or "rollout"
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 — no Redis: embedded broker and per-process cache
        return None
    return url.rstrip("/")


def child_env(db_url: str, redis: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="config.settings.bench",
        ROLLOUT_VAR_DIR=str(ROOT / "var" / "bench"),
    )
    if redis:
        env.update(CELERY_BROKER_URL=f"{redis}/14", CACHE_URL=f"{redis}/15")
    else:
        env.pop("CELERY_BROKER_URL", None)
        env["CACHE_URL"] = "locmemcache://"
    return env


# --- data ----------------------------------------------------------------------------------------


def make_world() -> dict:
    """A workflow in its limited roll-out with cohorts of MEMBERS people and a token."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from accounts.models import User
    from rollout.models import Cohort, CohortMember, Phase, PhaseStatus
    from rollout.services.api_tokens import api_token_create
    from tests.factories import make_workflow, ops_leader_user

    ops = ops_leader_user(email="ops@bench.example", display_name="Bench Ops")
    owner = User.objects.create_user("owner@bench.example", "bench", display_name="Bench Owner")
    now = timezone.now()
    start = timezone.localdate(now) - timedelta(days=200)
    workflow = make_workflow(
        owner=owner, actor=ops, name="Bench workflow", slug="bench-workflow", plan_start_date=start
    )
    # Straight to the limited phase (bench set-up, not a product path).
    for phase in Phase.objects.filter(workflow=workflow):
        if phase.kind in ("audit", "shadow"):
            phase.status, phase.actual_start = PhaseStatus.COMPLETED, now - timedelta(days=200)
            phase.actual_end = now - timedelta(days=190)
        elif phase.kind == "limited":
            phase.status, phase.actual_start = PhaseStatus.ACTIVE, now - timedelta(days=190)
        phase.save()
    users = User.objects.bulk_create(
        [User(email=f"agent{i}@bench.example", display_name=f"Agent {i}") for i in range(MEMBERS)]
    )
    cohorts = [
        Cohort.objects.create(workflow=workflow, name=name, enrolled_phase="limited")
        for name in ("Bench cohort", "EU agents", "US agents", "APAC agents")
    ]
    CohortMember.objects.bulk_create(
        [CohortMember(cohort=cohorts[i % len(cohorts)], user=u) for i, u in enumerate(users)]
    )
    _, token = api_token_create(workflow=workflow, actor=owner, name="bench")
    session = SessionStore()
    session["_auth_user_id"] = str(owner.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = owner.get_session_auth_hash()
    session.create()
    return {
        "token": token,
        "slug": workflow.slug,
        "workflow_id": workflow.pk,
        "users": [u.email for u in users],
        "session": session.session_key,
        "owner_id": owner.pk,
    }


def bulk_events(workflow_id: int, count: int, days: int) -> None:
    """COUNT events over the last DAYS days, generated inside PostgreSQL (fast), for people of
    the workflow's cohorts with their real user and cohort ids, then rolled up by the product's
    own rebuild."""
    from django.db import connection

    sql = """
        WITH members AS (
            SELECT row_number() OVER (ORDER BY m.id) - 1 AS i, u.id AS user_id, u.email,
                   m.cohort_id
            FROM rollout_cohortmember m JOIN accounts_user u ON u.id = m.user_id
            JOIN rollout_cohort c ON c.id = m.cohort_id WHERE c.workflow_id = %(wf)s
        ), n AS (SELECT count(*) AS n FROM members)
        INSERT INTO rollout_usageevent (workflow_id, event_id, user_ref, user_id, cohort_id, kind,
            latency_ms, latency_bucket, occurred_at, received_at, attrs)
        SELECT %(wf)s, gen_random_uuid(), m.email, m.user_id, m.cohort_id,
               (ARRAY['invocation','invocation','accepted','edited','overridden','error',
                      'invocation','accepted'])[1 + (g %% 8)],
               lat, LEAST(20, width_bucket(lat, ARRAY[25,50,75,100,150,200,300,400,500,750,1000,
                      1500,2000,3000,5000,7500,10000,20000,30000,60000]::int[])),
               now() - (random() * %(days)s * interval '1 day'), now(), '{}'::jsonb
        FROM generate_series(1, %(count)s) AS g
        CROSS JOIN n
        JOIN members m ON m.i = (g::bigint * 7919) %% n.n
        CROSS JOIN LATERAL (SELECT (300 + random() * 1500)::int + g %% 2 AS lat) l
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"wf": workflow_id, "count": count, "days": days})
        cursor.execute("ANALYZE rollout_usageevent")


# --- servers and load ----------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(  # noqa: S603 — fixed arguments
            [
                gunicorn,
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
        )
        for _ in range(100):
            try:
                if request("GET", "/healthz")[0] in (200, 503):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit("gunicorn did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def request(method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_gets(path: str, headers: dict, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            sys.exit(f"GET {path} answered {response.status}")
    conn.close()
    return times


def wrk(path: str, headers: dict, users: list[str]) -> dict:
    """requests/s and p99 (ms) from wrk, rotating through the people in `users`."""
    script = ROOT / "var" / "bench" / "paths.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    entries = ",".join(json.dumps(f"{path}&user={u}") for u in users)
    header_lines = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items()
    )
    script.write_text(
        f"local paths = {{{entries}}}\nlocal i = 0\n{header_lines}"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format(nil, paths[i])\nend\n"
    )
    out = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk") or "wrk",
            "-t2",
            "-c32",
            f"-d{SECONDS}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{PORT}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        sys.exit(f"wrk saw errors on {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale}


# --- the figures ---------------------------------------------------------------------------------


def bench_decision(world: dict) -> None:
    slug, users = world["slug"], world["users"][:200]
    auth = {"Authorization": f"Bearer {world['token']}"}
    for user in users:  # warm the cache, as a running integration keeps it
        request("GET", f"/api/v1/decision?workflow={slug}&user={user}", headers=auth)
    # Alternating rounds, best of each: both sides see the same background noise of the machine.
    rounds = [
        (
            wrk(f"/api/v1/decision?workflow={slug}", auth, users),
            wrk(f"/bench/bare-decision?workflow={slug}", {}, users),
        )
        for _ in range(3)
    ]
    decision = max((r[0] for r in rounds), key=lambda r: r["rps"])
    bare = max((r[1] for r in rounds), key=lambda r: r["rps"])
    emit(
        figure="decision_requests_per_s",
        value=round(decision["rps"]),
        p99_ms=round(decision["p99_ms"], 2),
        baseline="bare_django_view_requests_per_s",
        baseline_value=round(bare["rps"]),
        baseline_p99_ms=round(bare["p99_ms"], 2),
        ratio=round(decision["rps"] / bare["rps"], 3),
        target="ratio >= 0.70",
        met=decision["rps"] / bare["rps"] >= 0.70,
    )


def _batch(users: list[str], n: int, now) -> list[dict]:
    kinds = ("invocation", "accepted", "invocation", "edited", "overridden", "error")
    return [
        {
            "event_id": str(uuid.uuid4()),
            "user_ref": users[i % len(users)],
            "kind": kinds[i % len(kinds)],
            "occurred_at": (now - timedelta(seconds=i)).isoformat(),
            "latency_ms": 400 + (i * 37) % 1500,
            "attrs": {"model_version": "2026-09", "channel": "email"},
        }
        for i in range(n)
    ]


def bench_ingest(world: dict) -> None:
    from django.db import connection
    from django.utils import timezone

    from rollout.services.usage_ingest import attribute_people

    now = timezone.now()
    users = world["users"]
    bodies = [
        json.dumps({"events": _batch(users, 1000, now)}).encode() for _ in range(INGEST_BATCHES)
    ]
    headers = {"Authorization": f"Bearer {world['token']}", "Content-Type": "application/json"}
    queue = list(bodies)
    lock = threading.Lock()
    failures = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            conn.request("POST", "/api/v1/events", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200 or json.loads(payload)["accepted"] != 1000:
                failures.append((response.status, payload[:300]))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(INGEST_CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    api_seconds = time.perf_counter() - start
    if failures:
        sys.exit(f"ingestion failed: {failures[:3]}")
    total = INGEST_BATCHES * 1000

    # Baseline: the same rows (fresh ids), attributed, COPYed into the same table.
    from rollout.models import Workflow

    workflow = Workflow.objects.get(pk=world["workflow_id"])
    attribution = attribute_people(workflow, set(users))
    rows = []
    for body in bodies:
        for e in json.loads(body)["events"]:
            user_id, cohort_id = attribution.get(e["user_ref"], (None, None))
            rows.append(
                (
                    workflow.pk,
                    uuid.uuid4(),
                    e["user_ref"],
                    user_id,
                    cohort_id,
                    e["kind"],
                    e["latency_ms"],
                    5,
                    e["occurred_at"],
                    now,
                    json.dumps(e["attrs"]),
                )
            )
    columns = (
        "workflow_id, event_id, user_ref, user_id, cohort_id, kind, latency_ms, latency_bucket, "
        "occurred_at, received_at, attrs"
    )
    raw = connection.cursor().connection  # the psycopg connection under Django's
    start = time.perf_counter()
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY rollout_usageevent ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    raw.commit()
    copy_seconds = time.perf_counter() - start
    api_rate, copy_rate = total / api_seconds, total / copy_seconds
    emit(
        figure="ingest_events_per_s",
        value=round(api_rate),
        clients=INGEST_CLIENTS,
        batch=1000,
        events=total,
        baseline="psycopg_copy_events_per_s",
        baseline_value=round(copy_rate),
        ratio=round(api_rate / copy_rate, 3),
        target="ratio >= 0.30",
        met=api_rate / copy_rate >= 0.30,
    )


def query_count(path: str, owner_id: int) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=owner_id))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        sys.exit(f"GET {path} answered {response.status_code} in-process")
    return len(captured)


def page_cases(world: dict) -> list[tuple[str, str, dict]]:
    from django.conf import settings

    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={world['session']}"}
    auth = {"Authorization": f"Bearer {world['token']}"}
    today = time.strftime("%Y-%m-%d")
    start = time.strftime("%Y-%m-%d", time.localtime(time.time() - 29 * 86400))
    slug = world["slug"]
    return [
        ("usage_page", f"/workflows/{slug}/usage/?days=30", cookie),
        ("usage_page_180_days", f"/workflows/{slug}/usage/?days=180", cookie),
        ("metrics_api", f"/api/v1/workflows/{slug}/metrics?from={start}&to={today}", auth),
    ]


def page_query_counts(world: dict) -> dict[str, int]:
    """Queries per page, taken in-process with the owner's session."""
    return {name: query_count(path, world["owner_id"]) for name, path, _ in page_cases(world)}


def bench_pages(world: dict, queries_before: dict[str, int], events_before: int) -> None:
    from rollout.models import UsageEvent

    events = UsageEvent.objects.count()
    queries_after = page_query_counts(world)
    for name, path, headers in page_cases(world):
        timed_gets(path, headers, 5)  # warm-up: connections, caches
        times = timed_gets(path, headers, PAGE_REQUESTS)
        p95 = percentile(times, 0.95)
        emit(
            figure=f"{name}_p95_ms",
            value=round(p95, 1),
            median_ms=round(percentile(times, 0.5), 1),
            events_in_table=events,
            target="p95 < 100 ms",
            met=p95 < 100,
            queries=queries_after[name],
            queries_with_fewer_events=queries_before[name],
            fewer_events=events_before,
            constant_queries=queries_after[name] == queries_before[name],
        )


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk (apt-get install -y wrk); the Makefile installs it.")
    db_url = bench_database_url()
    redis = redis_url()
    env = child_env(db_url, redis)
    os.environ.update(env)
    if not redis:
        os.environ.pop("CELERY_BROKER_URL", None)
    log(f"database {urlsplit(db_url).path.lstrip('/')} (recreated); redis: {redis or 'none'}")
    recreate_database(db_url)
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import cache

    cache.clear()
    world = make_world()
    server = Server(env)
    try:
        log("decision endpoint vs bare view")
        bench_decision(world)
        log(f"ingestion: {INGEST_BATCHES} batches of 1,000 by {INGEST_CLIENTS} clients vs COPY")
        bench_ingest(world)
        from rollout.models import UsageEvent
        from rollout.services.evaluation import usage_refresh_pending

        usage_refresh_pending()  # what the worker does after ingestion
        events_before = UsageEvent.objects.count()
        queries_before = page_query_counts(world)
        log(f"loading {EVENTS:,} events over 180 days and rolling them up")
        started = time.perf_counter()
        bulk_events(world["workflow_id"], EVENTS, 180)
        loaded = time.perf_counter()
        from rollout.models import Workflow
        from rollout.services.usage_rollup import usage_rollup_rebuild

        days = usage_rollup_rebuild(workflow=Workflow.objects.get(pk=world["workflow_id"]))
        emit(
            figure="rollup_rebuild_seconds",
            value=round(time.perf_counter() - loaded, 1),
            days=days,
            events_loaded=EVENTS,
            load_seconds=round(loaded - started, 1),
            note="rebuild_rollups of every day from raw events (the recovery command's work)",
        )
        log("usage page and metrics API")
        bench_pages(world, queries_before, events_before)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
