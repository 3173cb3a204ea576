"""Storing usage events reported by the integration (PRODUCT.md rule 7).

The caller (the API, seed_demo) validates items first; this service stores valid ones only.
Idempotent on (workflow, event_id): an event stored before — or twice in one batch — counts as a
duplicate. No per-event query: one query resolves the batch's people to users and cohorts, one
statement inserts the batch, one marks the touched days for the rollup.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.wake import wake
from rollout.lib.stats import latency_bucket
from rollout.models import CohortMember, EnrolmentPhase, UsageDirtyDay, UsageEvent, Workflow


@dataclass(frozen=True)
class EventData:
    """One valid event, as the integration described it."""

    event_id: uuid.UUID
    user_ref: str
    kind: str
    occurred_at: datetime
    latency_ms: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicate: int


def attribute_people(workflow: Workflow, refs: set[str]) -> dict[str, tuple[int, int | None]]:
    """user_ref → (user id, cohort id or None) for the refs that name a known, active person.

    A person in several cohorts of the workflow is attributed to the one that gets them live
    first: enrolled cohorts before unenrolled ones, limited before broad, then by name.
    """
    if not refs:
        return {}
    lowered = {ref.lower() for ref in refs}
    # Emails compare lowercased on both sides (the decision matches them case-insensitively
    # too); an address stored with capitals by the admin or an import is still the person.
    rows = (
        CohortMember.objects.annotate(email=Lower("user__email"))
        .filter(
            Q(email__in=lowered) | Q(user__external_id__in=refs),
            cohort__workflow=workflow,
            user__is_active=True,
        )
        .values_list("email", "user__external_id", "user_id", "cohort_id", "cohort__enrolled_phase")
        .order_by("cohort__name", "cohort_id")
    )
    rank = {EnrolmentPhase.LIMITED: 0, EnrolmentPhase.BROAD: 1, "": 2}
    best: dict[int, tuple[int, int]] = {}  # user id → (rank, cohort id)
    keys: dict[int, tuple[str, str]] = {}
    for email, external_id, user_id, cohort_id, enrolled in rows:
        keys[user_id] = (email, external_id)
        candidate = (rank.get(enrolled, 2), cohort_id)
        if user_id not in best or candidate[0] < best[user_id][0]:
            best[user_id] = candidate
    by_lower: dict[str, list[str]] = {}
    for ref in refs:
        by_lower.setdefault(ref.lower(), []).append(ref)
    resolved: dict[str, tuple[int, int | None]] = {}
    for user_id, (email, external_id) in keys.items():
        for ref in [*by_lower.get(email, []), *([external_id] if external_id in refs else [])]:
            resolved[ref] = (user_id, best[user_id][1])
    return resolved


def _insert_postgresql(workflow: Workflow, rows: list[tuple]) -> int:
    """One INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING: as fast as executemany
    gets, and the RETURNING count tells new rows from duplicates without a second query."""
    columns = list(zip(*rows, strict=True))
    sql = f"""
        INSERT INTO {UsageEvent._meta.db_table}
            (workflow_id, event_id, user_ref, user_id, cohort_id, kind, latency_ms,
             latency_bucket, occurred_at, received_at, attrs)
        SELECT %s, e.event_id, e.user_ref, e.user_id, e.cohort_id, e.kind, e.latency_ms,
               e.latency_bucket, e.occurred_at, %s, e.attrs::jsonb
        FROM unnest(%s::uuid[], %s::varchar[], %s::bigint[], %s::bigint[], %s::varchar[],
                    %s::integer[], %s::smallint[], %s::timestamptz[], %s::text[])
             AS e(event_id, user_ref, user_id, cohort_id, kind, latency_ms, latency_bucket,
                  occurred_at, attrs)
        ON CONFLICT (workflow_id, event_id) DO NOTHING
        RETURNING 1
    """  # noqa: S608 — the table name is ours; every value is a parameter.
    with connection.cursor() as cursor:
        cursor.execute(sql, [workflow.pk, timezone.now(), *(list(c) for c in columns)])
        return len(cursor.fetchall())


def _insert_other(workflow: Workflow, rows: list[tuple]) -> int:
    # SQLite (the embedded default): count what is already there, then insert the rest. The
    # transaction takes SQLite's write lock up front (IMMEDIATE), so nothing slips in between.
    ids = [row[0] for row in rows]
    existing = set(
        UsageEvent.objects.filter(workflow=workflow, event_id__in=ids).values_list(
            "event_id", flat=True
        )
    )
    now = timezone.now()
    new = [
        UsageEvent(
            workflow=workflow,
            event_id=row[0],
            user_ref=row[1],
            user_id=row[2],
            cohort_id=row[3],
            kind=row[4],
            latency_ms=row[5],
            latency_bucket=row[6],
            occurred_at=row[7],
            received_at=now,
            attrs=json.loads(row[8]),
        )
        for row in rows
        if row[0] not in existing
    ]
    # No batch_size: Django sends the largest batch the backend allows (a 1,000-event batch is
    # one statement on SQLite), so the number of queries does not grow with the batch.
    UsageEvent.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def usage_events_store(*, workflow: Workflow, events: Sequence[EventData]) -> IngestResult:
    """Store valid events; returns how many were new and how many were already stored."""
    unique: dict[uuid.UUID, EventData] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    if not unique:
        return IngestResult(accepted=0, duplicate=len(events))
    attribution = attribute_people(workflow, {e.user_ref for e in unique.values()})
    rows = []
    days = set()
    for e in unique.values():
        user_id, cohort_id = attribution.get(e.user_ref, (None, None))
        bucket = latency_bucket(e.latency_ms) if e.latency_ms is not None else None
        rows.append(
            (
                e.event_id,
                e.user_ref,
                user_id,
                cohort_id,
                e.kind,
                e.latency_ms,
                bucket,
                e.occurred_at,
                json.dumps(e.attrs, separators=(",", ":")),
            )
        )
        days.add(timezone.localdate(e.occurred_at))
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_other
    with transaction.atomic():
        accepted = insert(workflow, rows)
        if accepted:
            UsageDirtyDay.objects.bulk_create(
                [UsageDirtyDay(workflow=workflow, day=day) for day in sorted(days)],
                ignore_conflicts=True,
            )
            wake("rollout.tasks.rollup_usage")
    return IngestResult(accepted=accepted, duplicate=len(events) - accepted)
