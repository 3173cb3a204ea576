"""`make bench`: Rollout's speed targets, on PostgreSQL and Redis, each against a baseline taken in
the same run, in paired rounds (bench/paired.py).

Touches only what it owns (bench/resources.py): a database `<name>_bench_<run id>`, created and
dropped, and Redis keys under `bench-<run id>:`, deleted one by one at the end. Starts its own
gunicorn, Celery workers and SMTP sink on free loopback ports, and stops them.

Prints one JSON object per line on stdout (kept in var/bench/<run id>.jsonl; `python -m bench.table`
makes the README's table of it), a readable line for each on stderr:

* run: the run id, date, machine (`uname -m`), cores, load, sizes;
* decision: requests/s of GET /api/v1/decision, warm (wrk), against a bare Django view returning
  the same JSON under the same server, mounted under /api/v1/ so that it goes through the same
  middleware — target: median paired ratio >= 0.90; also the ratio by server CPU per request and
  against the same view at a page URL (bench/decision.py);
* ofrep: requests/s of POST /ofrep/v1/evaluate/flags/{key}, warm, against a bare view answering
  the same POST beside it — target >= 0.80 — and against GET /api/v1/decision in the same rounds —
  target >= 0.85 (bench/ofrep.py);
* ingest: events/s through POST /api/v1/events (4 clients, batches of 1,000) against COPY of the
  same rows by 4 connections into a table with only the unique key — target >= 0.50;
* notice_fanout, notice_fanout_two_workers: a notice to BENCH_FANOUT (5,000) people through the
  real workers and sender against plain smtplib to the same SMTP sink (bench/fanout.py);
* rollup_rebuild_seconds: rebuilding every day's rollup after loading BENCH_EVENTS events;
* usage_page_{30,180}_days, metrics_api_{30,180}_days: p95 in ms with BENCH_EVENTS (default
  10 million) events, taken on an idle machine (bench/machine.py) — targets 30 ms (30 days) and
  100 ms (180 days) — and their query counts, equal at BENCH_FEW_EVENTS and BENCH_EVENTS;
* usage_page_{30,180}_days_first_view: the same page with nothing of it kept in the cache (as
  after a change to the data it shows), reported (bench/pages.py, with Redis only);
* list_page_*: every list page with 10,000 rows to list, p95 in ms on an idle machine, and its
  query count (bench/lists.py; no target until the interface issue paginates them);
* otlp: events/s through POST /otlp/v1/traces (protobuf exports of 1,000 GenAI spans, 4 clients)
  against COPY of the same events — target >= 0.30 (bench/otlp.py).

Knobs: BENCH_EVENTS, BENCH_FEW_EVENTS (20,000), BENCH_ROUNDS (3, the least), BENCH_INGEST_BATCHES
(120 per round), BENCH_SECONDS (wrk per round, 10), BENCH_WORKERS (gunicorn workers, 2),
BENCH_FANOUT (5,000), BENCH_IDLE_WAIT (300 s), BENCH_PORT (default: a free port),
BENCH_KEEP_DB=1, BENCH_ONLY=decision,ofrep,ingest,fanout,pages,lists,otlp (a subset, while
developing).
"""

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import machine, procs, resources
from bench.report import JSONL, emit, log

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
FEW_EVENTS = int(os.environ.get("BENCH_FEW_EVENTS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
INGEST_BATCHES = int(os.environ.get("BENCH_INGEST_BATCHES", "120"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
FANOUT = int(os.environ.get("BENCH_FANOUT", "5000"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(","))) or {
    "decision",
    "ofrep",
    "ingest",
    "fanout",
    "pages",
    "lists",
    "otlp",
}


def setup_django(env: dict[str, str], db_url: str) -> None:
    os.environ.update(env)
    if "CELERY_BROKER_URL" not in env:
        os.environ.pop("CELERY_BROKER_URL", None)
    resources.create_database(db_url)
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=resources.ROOT, env=env, check=True
    )
    sys.path.insert(0, str(resources.ROOT))
    import django

    django.setup()


def run(env: dict[str, str], sink, port: int) -> None:
    from bench.decision import bench_decision
    from bench.fanout import bench_fanout
    from bench.ingest import bench_ingest
    from bench.lists import bench_lists
    from bench.ofrep import bench_ofrep
    from bench.otlp import bench_otlp
    from bench.pages import query_counts
    from bench.world import bulk_events, make_world, rollup_all
    from rollout.services.evaluation import usage_refresh_pending

    world = make_world(FANOUT)
    log(f"{FEW_EVENTS:,} events first: the query counts at a small size")
    bulk_events(world["workflow_id"], FEW_EVENTS, 180)
    rollup_all(world["workflow_id"])
    few = query_counts(world)
    server = procs.start_gunicorn(env, port, WORKERS)
    if "decision" in ONLY:
        bench_decision(world, server, port, ROUNDS, SECONDS)
    if "ofrep" in ONLY:
        bench_ofrep(world, server, port, ROUNDS, SECONDS)
    if "ingest" in ONLY:
        bench_ingest(world, port, env["DATABASE_URL"], ROUNDS, INGEST_BATCHES)
        usage_refresh_pending()  # what the worker does after ingestion
    # Both ways in are measured here, before the pages load 10 M events: each stores into the
    # events table as it is then (thousands of rows), as its baseline COPYs into a new table.
    # After the load, the API side would pay for a 10 M-row table's indexes and the baseline
    # not (OTLP measured there in a full run on 7 December: 0.22; in four runs of ingestion and
    # OTLP alone the same afternoon: 0.28–0.30).
    if "otlp" in ONLY:
        bench_otlp(world, port, env["DATABASE_URL"], ROUNDS, INGEST_BATCHES)
        usage_refresh_pending()
    if "fanout" in ONLY:
        bench_fanout(world, env, sink, ROUNDS)
    if "pages" in ONLY:
        _pages(world, port, few)
    if "lists" in ONLY:
        bench_lists(world, port)


def _pages(world: dict, port: int, few: dict[str, int]) -> None:
    from bench.pages import bench_pages
    from bench.world import bulk_events, rollup_all

    log(f"loading {EVENTS:,} events over 180 days and rolling them up")
    started = time.perf_counter()
    bulk_events(world["workflow_id"], EVENTS, 180)
    loaded = time.perf_counter()
    days = rollup_all(world["workflow_id"])
    emit(
        {
            "figure": "rollup_rebuild_seconds",
            "title": f"`rebuild_rollups` of {days} days holding {EVENTS:,} events",
            "value": round(time.perf_counter() - loaded, 1),
            "days": days,
            "events_loaded": EVENTS,
            "load_seconds": round(loaded - started, 1),
            "note": "every day's rollup rebuilt from raw events (the recovery command's work);"
            " not a target, and timed on whatever machine load there was",
            "machine": {"load_1m": machine.load()},
        }
    )
    bench_pages(world, port, few, FEW_EVENTS)


def main() -> None:
    from bench.sink import Sink

    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk (apt-get install -y wrk); the Makefile installs it.")
    db_url = resources.database_url()
    redis = resources.redis_url()
    port = int(os.environ.get("BENCH_PORT") or procs.free_port())
    (resources.VAR / "run" / "staticfiles").mkdir(parents=True, exist_ok=True)  # whitenoise's
    sink = Sink(procs.free_port(), resources.VAR / "sample-message.json")
    env = resources.child_env(db_url, redis, sink.port)
    emit(
        {
            "run": resources.RUN_ID,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            **machine.description(),
            "database": resources.database_name(db_url),
            "redis_prefix": f"{resources.PREFIX}:" if redis else None,
            "events": EVENTS,
            "rounds": max(ROUNDS, 3),
            "gunicorn_workers": WORKERS,
            "figures": sorted(ONLY),
        }
    )
    log(f"database {resources.database_name(db_url)}; redis {redis or 'none'}; port {port}")
    try:
        setup_django(env, db_url)
        run(env, sink, port)
    finally:
        procs.stop_all()
        sink.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            resources.drop_database(db_url)
        if redis:
            deleted = resources.delete_redis_keys(redis)
            stray = resources.stray_redis_keys(redis)
            log(f"deleted the run's {deleted} Redis keys; {stray} left naming the run")
        log(f"JSON lines kept in {JSONL}; the README table: python -m bench.table {JSONL}")


if __name__ == "__main__":
    main()
