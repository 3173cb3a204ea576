"""Figure: events/s through POST /api/v1/events against PostgreSQL's own COPY of the same rows.

The API side: CLIENTS clients post batches of 1,000 events (fresh event ids each round) to
gunicorn. The baseline: the same rows, attributed beforehand (the API's work, not the database's),
COPYed by as many concurrent connections as there are clients, one COPY and commit per batch of
1,000 (the API commits each batch too), into `bench_copy_target`: a table with the same columns
and defaults as rollout_usageevent and only the unique (workflow_id, event_id) key — no foreign
keys, no other index. So the ratio is the API's cost over the least a database must do to keep
the same rows once each.
"""

import http.client
import json
import queue
import threading
import time
import uuid
from datetime import timedelta

from bench import paired
from bench.report import emit, log

CLIENTS = 4
BATCH = 1000
TARGET = 0.50
COLUMNS = (
    "workflow_id, event_id, user_ref, user_id, cohort_id, kind, latency_ms, latency_bucket, "
    "occurred_at, received_at, attrs"
)


def create_copy_target() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            # IDENTITY too: the id column is an identity column, which DEFAULTS does not copy.
            "CREATE TABLE bench_copy_target"
            " (LIKE rollout_usageevent INCLUDING DEFAULTS INCLUDING IDENTITY);"
            " ALTER TABLE bench_copy_target ADD UNIQUE (workflow_id, event_id)"
        )


def _events(users: list[str], now) -> list[dict]:
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
        for i in range(BATCH)
    ]


def _in_parallel(work: list, handle) -> float:
    """Seconds for CLIENTS threads to `handle(state, item)` every item of `work`; each thread's
    state comes from handle's `open()` and goes to its `close()`."""
    items: queue.SimpleQueue = queue.SimpleQueue()
    for item in work:
        items.put(item)
    errors: list[BaseException] = []

    def run() -> None:
        state = handle.open()
        try:
            while True:
                try:
                    item = items.get_nowait()
                except queue.Empty:
                    return
                handle(state, item)
        except BaseException as exc:  # noqa: BLE001 — reported by the caller
            errors.append(exc)
        finally:
            handle.close(state)

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise SystemExit(f"ingestion failed: {errors[0]!r}")
    return seconds


class _Post:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def open(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def __call__(self, conn, body: bytes) -> None:
        conn.request("POST", "/api/v1/events", body=body, headers=self.headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200 or json.loads(payload)["accepted"] != BATCH:
            raise RuntimeError(f"POST /api/v1/events: {response.status} {payload[:300]!r}")

    def close(self, conn) -> None:
        conn.close()


class Copy:
    """COPY of a batch's rows into `table` (our own bench table), one commit per batch."""

    def __init__(self, db_url: str, table: str = "bench_copy_target") -> None:
        self.db_url = db_url
        self.table = table

    def open(self):
        import psycopg

        return psycopg.connect(self.db_url)

    def __call__(self, conn, rows: list[tuple]) -> None:
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY {self.table} ({COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()

    def close(self, conn) -> None:
        conn.close()


def bench_ingest(world: dict, port: int, db_url: str, rounds: int, batches: int) -> None:
    from django.utils import timezone

    from rollout.models import Workflow
    from rollout.services.usage_ingest import attribute_people

    users = world["users"]
    workflow = Workflow.objects.get(pk=world["workflow_id"])
    attribution = attribute_people(workflow, set(users))
    create_copy_target()
    post, copy = _Post(port, world["token"]), Copy(db_url)
    work: dict[str, list] = {}

    def prepare() -> None:
        """A round's batches (fresh event ids), as request bodies and as the COPY's rows."""
        now = timezone.now()
        batches_of_events = [_events(users, now) for _ in range(batches)]
        work["bodies"] = [json.dumps({"events": b}).encode() for b in batches_of_events]
        work["rows"] = [
            [
                (
                    workflow.pk,
                    e["event_id"],
                    e["user_ref"],
                    *attribution.get(e["user_ref"], (None, None)),
                    e["kind"],
                    e["latency_ms"],
                    5,
                    e["occurred_at"],
                    now,
                    json.dumps(e["attrs"]),
                )
                for e in b
            ]
            for b in batches_of_events
        ]

    def api_side() -> dict:
        if "bodies" not in work:
            prepare()
        rate = batches * BATCH / _in_parallel(work.pop("bodies"), post)
        return {"value": rate}

    def copy_side() -> dict:
        if "rows" not in work:
            prepare()
        rate = batches * BATCH / _in_parallel(work.pop("rows"), copy)
        return {"value": rate}

    log(f"ingestion: {batches} batches of 1,000 by {CLIENTS} clients vs COPY by {CLIENTS}")
    results = paired.run_rounds({"api": api_side, "copy": copy_side}, rounds, log, warm_up=1)
    ratio = paired.ratio(results, "api", "copy")
    emit(
        {
            "figure": "ingest",
            "title": f"ingestion through `POST /api/v1/events` ({CLIENTS} clients, batches of"
            f" {BATCH:,})",
            "unit": "events/s",
            "measured": paired.side(results, "api", "API", digits=0),
            "baseline": paired.side(
                results,
                "copy",
                f"psycopg COPY of the same rows by {CLIENTS} connections into a table with only"
                " the unique key",
                digits=0,
            ),
            "events_per_round": batches * BATCH,
            "ratio": ratio,
            "target": f"median ratio >= {TARGET:.2f}",
            "met": ratio["median"] >= TARGET,
        }
    )
