"""Figures: every list page with LIST_ROWS (10,000) rows to list — feedback, activity, incidents,
notices, the inbox, the cohorts page (one cohort of LIST_ROWS people) and a notice's "who it
reached" (its fan-out audience) — p95 in ms over LIST_REQUESTS requests as the owner, on an idle
machine, with the page's query count. Each page shows one page of its list (core.pagination: 50
rows, 25 for feedback and activity), so the figures should not grow with LIST_ROWS.

The rows are written straight into the tables (bulk inserts, not the services: a bench set-up),
after the other figures, so that they do not change them.
"""

import time
from datetime import timedelta

from bench import client
from bench.machine import IdleWait, load
from bench.report import emit, log

LIST_ROWS = 10_000
LIST_REQUESTS = 10


def seed_lists(world: dict, rows: int = LIST_ROWS) -> dict[str, tuple[str, int]]:
    """LIST_ROWS rows for each list page of the bench workflow. Returns {figure: (path, rows)}:
    a notice's "who it reached" lists the bench's fan-out audience, whatever its size."""
    from django.utils import timezone

    from accounts.models import User
    from rollout.models import (
        ActivityEntry,
        ChangeNotice,
        Cohort,
        CohortMember,
        DeliveryChannel,
        DeliveryStatus,
        Feedback,
        Incident,
        NoticeDelivery,
        NoticeReceipt,
    )

    now = timezone.now()
    workflow_id, owner_id = world["workflow_id"], world["owner_id"]
    # The fan-out's notice (found before the list notices below get deliveries of their own).
    fanout = (
        ChangeNotice.objects.filter(workflow_id=workflow_id, deliveries__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    Feedback.objects.bulk_create(
        [
            Feedback(
                workflow_id=workflow_id,
                user_ref=f"agent{i % 500}@bench.example",
                rating="negative" if i % 3 else "positive",
                category=("wrong", "slow", "other")[i % 3],
                text=f"Item {i}: the draft missed the customer's second question.",
                status="new",
            )
            for i in range(rows)
        ],
        batch_size=2000,
    )
    ActivityEntry.objects.bulk_create(
        [
            ActivityEntry(
                workflow_id=workflow_id,
                actor_id=owner_id,
                verb="changed threshold",
                target=f"Override rate {i}",
                changes={"limit": ["0.20", "0.15"]},
            )
            for i in range(rows)
        ],
        batch_size=2000,
    )
    Incident.objects.bulk_create(
        [
            Incident(
                workflow_id=workflow_id,
                title=f"Drafts in the wrong language {i}",
                started_at=now - timedelta(minutes=i),
                status="closed",
                opened_by_id=owner_id,
            )
            for i in range(rows)
        ],
        batch_size=2000,
    )
    notices = ChangeNotice.objects.bulk_create(
        [
            ChangeNotice(
                workflow_id=workflow_id,
                kind="model_change",
                title=f"Model update {i}",
                body="The reply drafts now use the 2026-10 model.",
                audience="everyone",
                publish_at=now - timedelta(days=1),
                effective_at=now + timedelta(days=7),
                status="published",
                published_at=now - timedelta(days=1),
            )
            for i in range(rows)
        ],
        batch_size=2000,
    )
    NoticeReceipt.objects.bulk_create(
        [NoticeReceipt(notice=notice, recipient_id=owner_id) for notice in notices],
        batch_size=2000,
    )
    # A receipt is in the inbox once its in-app delivery was sent (rollout.selectors.inbox):
    # without these rows the inbox rightly shows none of the receipts above.
    NoticeDelivery.objects.bulk_create(
        [
            NoticeDelivery(
                notice=notice,
                recipient_id=owner_id,
                channel=DeliveryChannel.IN_APP,
                kind="notice",
                status=DeliveryStatus.SENT,
                attempts=1,
                sent_at=now - timedelta(days=1),
            )
            for notice in notices
        ],
        batch_size=2000,
    )
    cohort = Cohort.objects.create(workflow_id=workflow_id, name="Ten thousand")
    people = User.objects.bulk_create(
        [User(email=f"list{i}@bench.example", display_name=f"List {i}") for i in range(rows)],
        batch_size=2000,
    )
    CohortMember.objects.bulk_create(
        [CohortMember(cohort=cohort, user=person) for person in people], batch_size=2000
    )
    slug = world["slug"]
    paths = {
        "feedback": (f"/workflows/{slug}/feedback/", rows),
        "activity": (f"/workflows/{slug}/activity/", rows),
        "incidents": (f"/workflows/{slug}/incidents/", rows),
        "notices": (f"/workflows/{slug}/notices/", rows),
        "inbox": ("/inbox/", rows),
        "cohorts": (f"/workflows/{slug}/cohorts/", rows),
    }
    if fanout is not None:
        reached = NoticeReceipt.objects.filter(notice_id=fanout).count()
        paths["notice_who_it_reached"] = (f"/workflows/{slug}/notices/{fanout}/", reached)
    return paths


def bench_lists(world: dict, port: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    log(f"list pages with {LIST_ROWS:,} rows each")
    paths = seed_lists(world)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={world['session']}"}
    owner = Client()
    owner.force_login(User.objects.get(pk=world["owner_id"]))
    idle = IdleWait()
    for name, (path, rows) in paths.items():
        owner.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = owner.get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code} in-process")
        client.timed_gets(port, path, cookie, 2)  # warm-up
        machine = idle.wait(log)
        started = time.monotonic()
        times = client.timed_gets(port, path, cookie, LIST_REQUESTS)
        machine["load_1m_after"] = load()
        emit(
            {
                "figure": f"list_page_{name}",
                "title": f"list page: {name.replace('_', ' ')}, {rows:,} rows",
                "unit": "ms",
                "p95_ms": round(client.percentile(times, 0.95), 1),
                "median_ms": round(client.percentile(times, 0.5), 1),
                "requests": LIST_REQUESTS,
                "seconds": round(time.monotonic() - started, 1),
                "rows": rows,
                "queries": len(captured),
                "bytes": len(response.content),
                "machine": machine,
                **({} if machine["idle"] else {"note": "machine busy"}),
                "target": "reported (one page of the list, whatever LIST_ROWS)",
                "met": None,
            }
        )
