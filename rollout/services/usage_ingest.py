"""Storing usage events reported by the integration (PRODUCT.md rule 7).

The caller (the API, seed_demo) validates items first; this service stores valid ones only.
Idempotent on (workflow, event_id): an event stored before — or twice in one batch — counts as a
duplicate. No per-event query: one query resolves the batch's people to users and cohorts, one
statement marks the touched days for the rollup, and on PostgreSQL one COPY stores a batch of new
events (a batch holding stored events takes a COPY to a staging table and one INSERT instead).

This is the hot write path (`make bench` holds it to a share of a raw COPY): the per-event Python
loop and the statements are kept lean on purpose, and the events table enforces only what this
service cannot (see rollout.models.usage.UsageEvent).
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.db import one_of_texts
from core.wake import wake
from rollout.lib import local_memo
from rollout.lib.flat_json import flat_json
from rollout.lib.stats import latency_bucket
from rollout.models import (
    CohortMember,
    EnrolmentPhase,
    EventKind,
    UsageDirtyDay,
    UsageEvent,
    Workflow,
)
from rollout.selectors.decision import VERSIONED_MEMO_SECONDS, plan_version_now
from rollout.selectors.outcome_arms import ArmTimeline, arm_timeline
from rollout.services.decision_cache import plan_change_uncommitted
from rollout.services.output_review_intake import output_reviews_pick, outputs_take


class EventData(NamedTuple):
    """One valid event, as the integration described it. (A named tuple: made a thousand times
    per batch, it costs half of a frozen dataclass.)"""

    event_id: uuid.UUID
    user_ref: str
    kind: str
    occurred_at: datetime
    latency_ms: int | None = None
    attrs: Mapping[str, Any] = MappingProxyType({})
    value: float | None = None  # outcome events only


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicate: int


Attribution = dict[str, tuple[int, int | None]]
# How many references a process remembers per workflow before starting over (bounded memory).
ATTRIBUTION_MEMO_REFS = 50_000
ARMS_MEMO_PAIRS = 50_000  # and (person, cohort) pairs in its outcome arms' timeline


def attribute_people(workflow: Workflow, refs: set[str]) -> Attribution:
    """user_ref → (user id, cohort id or None) for the refs that name a known, active person.

    A person in several cohorts of the workflow is attributed to the one that gets them live
    first: enrolled cohorts before unenrolled ones, limited before broad, then by name.

    Each process remembers what it found per reference (a known person or nobody) under the
    workflow's plan version, which rollout.services.decision_cache.plan_changed bumps after any
    change to the workflow's cohorts, their members or a member's account, the changes the
    answer depends on: so only references not asked about since the last change are looked up
    (a batch names the same few hundred people again and again, and looking them up cost a
    quarter of storing it). The version is read from the shared cache on every call, not from a
    memo; without a trusted cache, or in a transaction that changed the plan and has not
    committed it, every reference is looked up as before. (Cached decisions hold under the same
    version: a person's attribution and their decision change together.)"""
    if not refs:
        return {}
    known = _plan_memo(workflow, "attribution", dict, ATTRIBUTION_MEMO_REFS)
    if known is None:
        return _attribution_query(workflow, refs)
    missing = {ref for ref in refs if ref not in known}  # not `- known.keys()`: it walks the memo
    if missing:
        found = _attribution_query(workflow, missing)
        for ref in missing:
            known[ref] = found.get(ref)
    return {ref: known[ref] for ref in refs if known[ref] is not None}


def _plan_memo(
    workflow: Workflow,
    name: str,
    make: Callable[[], Any],
    most: int,
    size: Callable[[Any], int] = len,
) -> Any | None:
    """This process's memo `name` of the workflow, valid under its current plan version (made by
    `make()` when there is none, or when its `size` passed `most`); None when nothing
    may be remembered now: without a trusted cache, or in a transaction that changed the plan
    and has not committed it (see attribute_people). What a caller adds to it must be read from
    the database after this call: then it is never older than the version."""
    slug = workflow.slug
    version = None if plan_change_uncommitted(slug) else plan_version_now(slug)
    if version is None:
        return None
    # Under the prefix plan_changed forgets at once; with the workflow's id, because a slug can
    # outlive its workflow (seed_demo's reset deletes the demo and makes it again).
    key = f"decision:{slug}:{name}:{workflow.pk}"
    memo = local_memo.recall(key)
    if memo is None or memo[0] != version or size(memo[1]) > most:
        # Kept VERSIONED_MEMO_SECONDS from its start, not from its last use: a change made
        # without plan_changed (none is known) would reach this process within that time.
        memo = (version, make())
        local_memo.remember(key, memo, VERSIONED_MEMO_SECONDS)
    return memo[1]


def _attribution_query(workflow: Workflow, refs: set[str]) -> Attribution:
    """attribute_people, asked of the database (one query)."""
    lowered = {ref.lower() for ref in refs}
    # Emails compare lowercased on both sides (the decision matches them case-insensitively
    # too); an address stored with capitals by the admin or an import is still the person.
    rows = (
        CohortMember.objects.annotate(email=Lower("user__email"))
        .filter(
            Q(email__in=one_of_texts(lowered)) | Q(user__external_id__in=one_of_texts(refs)),
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
    resolved: Attribution = {}
    for user_id, (email, external_id) in keys.items():
        for ref in [*by_lower.get(email, []), *([external_id] if external_id in refs else [])]:
            resolved[ref] = (user_id, best[user_id][1])
    return resolved


# The columns of a stored event, in the order of the rows built by usage_events_store.
_FIELDS = (
    "workflow_id", "event_id", "user_ref", "user_id", "cohort_id", "kind", "latency_ms",
    "latency_bucket", "occurred_at", "received_at", "attrs", "value", "arm",
)  # fmt: skip
_COLUMNS = ", ".join(_FIELDS)
# Binary COPY: no text to format in Python nor to parse on the server for ids, times and numbers.
# attrs go as the bytes of jsonb's binary form (bytea only to psycopg, which sends bytes as they
# are; the server reads the field as the column's type, jsonb): built once per distinct attrs.
_COPY_TYPES = (
    "int8", "uuid", "varchar", "int8", "int8", "varchar", "int4", "int2", "timestamptz",
    "timestamptz", "bytea", "float8", "varchar",
)  # fmt: skip
_JSONB_VERSION = b"\x01"  # jsonb's binary form: a version byte, then the JSON text
_COPY_EVENTS = f"COPY {UsageEvent._meta.db_table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"

# When some event of the batch is stored already, the batch goes through a per-connection staging
# table instead, and one INSERT … SELECT … ON CONFLICT DO NOTHING moves it: a conflict on
# (workflow, event_id) — an event stored before, or by a concurrent batch — is a duplicate.
# The table is TEMPORARY (private to the connection, not WAL-logged) and made once per connection
# (ON COMMIT DROP would add and remove catalog rows per batch); IF NOT EXISTS makes it again on a
# new connection. It is empty between calls: the move deletes what it reads, and a failed call's
# savepoint takes its rows back; ON COMMIT DELETE ROWS gives their space back at commit.
_STAGE = "usage_event_stage"
_STAGE_CREATE = f"""
    CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (
        workflow_id bigint, event_id uuid, user_ref varchar(254), user_id bigint,
        cohort_id bigint, kind varchar(16), latency_ms integer, latency_bucket smallint,
        occurred_at timestamptz, received_at timestamptz, attrs jsonb, value double precision,
        arm varchar(7)
    ) ON COMMIT DELETE ROWS
"""
_COPY_STAGE = f"COPY {_STAGE} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
# In event_id order, as the rows of the direct COPY: two batches sharing events take their
# index entries in the same order, so one waits for the other instead of deadlocking.
_MOVE_STAGED = f"""
    WITH staged AS (
        DELETE FROM {_STAGE} RETURNING *
    ), stored AS (
        INSERT INTO {UsageEvent._meta.db_table} ({_COLUMNS})
        SELECT {_COLUMNS} FROM staged ORDER BY event_id
        ON CONFLICT (workflow_id, event_id) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM stored
"""  # noqa: S608 — the table names are ours; every value is a parameter.
_MARK_DAYS = f"""
    INSERT INTO {UsageDirtyDay._meta.db_table} (workflow_id, day, marked_at)
    SELECT %s, day, %s FROM unnest(%s::date[]) AS day ORDER BY day
    ON CONFLICT (workflow_id, day) DO NOTHING
"""  # noqa: S608 — the table name is ours; every value is a parameter.


def _copy(cursor: Any, statement: str, rows: list[tuple]) -> None:
    # COPY goes to psycopg directly (Django has no COPY); its errors are made Django's, so that
    # a duplicate is an IntegrityError and a lost connection is told apart as for any query
    # (core.db.connection_lost).
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        copy.set_types(_COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def _store_postgresql(workflow: Workflow, rows: list[tuple], days: set[date]) -> tuple[int, bool]:
    """COPY straight into the events table: what a batch of new events costs (the unique index
    still refuses a stored event). A batch holding a stored event — sent again, or racing a
    concurrent batch — fails that COPY as a whole, and goes through the staging table instead.

    Returns the events stored and whether a day became dirty. A day already dirty needs no new
    wake-up: its row was marked, committed and not yet claimed (a rollup claiming it holds its
    lock until it deletes it, and the mark waits for that, then inserts it afresh), so the
    wake-up of the batch that marked it — or the sweep, if the broker was down — is still to
    come. A steady stream of batches into today then wakes the rollup once per rollup, not
    once per batch."""
    rows.sort(key=_event_order)
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():  # a savepoint: the failed COPY leaves nothing behind
                _copy(cursor, _COPY_EVENTS, rows)
            accepted = len(rows)
        except IntegrityError:
            cursor.execute(_STAGE_CREATE)
            _copy(cursor, _COPY_STAGE, rows)
            cursor.execute(_MOVE_STAGED)
            accepted = cursor.fetchone()[0]
        marked = 0
        if accepted:
            cursor.execute(_MARK_DAYS, [workflow.pk, timezone.now(), sorted(days)])
            marked = cursor.rowcount
    return accepted, marked > 0


def _copy_attrs(attrs: Mapping[str, Any]) -> bytes:
    """attrs for the binary COPY: jsonb's binary form of their JSON text (flat_json)."""
    return _JSONB_VERSION + flat_json(attrs).encode()


def _event_order(row: tuple) -> int:
    return row[1].int  # PostgreSQL's uuid order; comparing ints is cheaper than comparing UUIDs


def _store_other(workflow: Workflow, rows: list[tuple], days: set[date]) -> tuple[int, bool]:
    # SQLite (the embedded default): count what is already there, then insert the rest. The
    # transaction takes SQLite's write lock up front (IMMEDIATE), so nothing slips in between.
    ids = [row[1] for row in rows]
    existing = set(
        UsageEvent.objects.filter(workflow=workflow, event_id__in=ids).values_list(
            "event_id", flat=True
        )
    )
    new = [
        UsageEvent(**dict(zip(_FIELDS, row, strict=True))) for row in rows if row[1] not in existing
    ]
    # No batch_size: Django sends the largest batch the backend allows (a 1,000-event batch is
    # one statement on SQLite), so the number of queries does not grow with the batch.
    UsageEvent.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        UsageDirtyDay.objects.bulk_create(
            [UsageDirtyDay(workflow=workflow, day=day) for day in sorted(days)],
            ignore_conflicts=True,
        )
    return len(new), bool(new)  # (ignore_conflicts tells nothing of what it inserted)


_OUTCOME = str(EventKind.OUTCOME)
_ARM = _FIELDS.index("arm")


def _pairs_read(timeline: ArmTimeline) -> int:
    return len(timeline.read_pairs)


def _stamp_arms(workflow: Workflow, rows: list[tuple]) -> None:
    """Give each outcome row the arm its person was in when it happened (rollout.selectors.
    outcome_arms). A batch without outcomes pays one pass over its kinds; one with outcomes a
    fixed number of queries, whatever its size."""
    outcomes = [i for i, row in enumerate(rows) if row[5] == _OUTCOME]
    if not outcomes:
        return
    # (user id, cohort id): people Rollout does not know, or in no cohort, are in neither arm.
    pairs = {(rows[i][3], rows[i][4]) for i in outcomes}
    pairs = {p for p in pairs if None not in p}
    # Remembered like attribution, under the plan version: each input of the timeline (phases,
    # pauses, enrolment settings, memberships, holdout releases) changes through plan_changed.
    known = _plan_memo(
        workflow, "arms", partial(arm_timeline, workflow.pk, ()), ARMS_MEMO_PAIRS, _pairs_read
    )
    timeline = arm_timeline(workflow.pk, pairs, known=known)
    for i in outcomes:
        row = rows[i]
        rows[i] = (*row[:_ARM], timeline.arm_at(row[3], row[4], row[8]))


def usage_events_store(*, workflow: Workflow, events: Sequence[EventData]) -> IngestResult:
    """Store valid events; returns how many were new and how many were already stored.
    `attrs.output` is never stored: picked outputs become review items (output_review_intake)."""
    events, outputs = outputs_take(events)
    unique: dict[uuid.UUID, EventData] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    if not unique:
        return IngestResult(accepted=0, duplicate=len(events))
    # A data source's report (input_*) may name nobody: "" is no one's reference.
    attribution = attribute_people(workflow, {e.user_ref for e in unique.values()} - {""})
    nobody = (None, None)
    attrs_column = _copy_attrs if connection.vendor == "postgresql" else dict
    columns: dict[int, Any] = {}  # id(attrs) → its column: a batch's events mostly share attrs
    tz = timezone.get_current_timezone()  # looked up once: per event it costs more than the rest
    now = timezone.now()
    pk = workflow.pk
    rows = []  # in the order of _COLUMNS
    # The days touched, found once per minute of occurred_at: every time zone's offset is whole
    # minutes (since 1972), so all of a minute's moments fall on one local day.
    minutes: dict[int, date] = {}
    for e in unique.values():
        user_id, cohort_id = attribution.get(e.user_ref, nobody)
        latency = e.latency_ms
        attrs = e.attrs
        column = columns.get(id(attrs))
        if column is None:
            column = columns[id(attrs)] = attrs_column(attrs)
        when = e.occurred_at
        minute = int(when.timestamp()) // 60
        if minute not in minutes:
            minutes[minute] = when.astimezone(tz).date()
        rows.append(
            (
                pk,
                e.event_id,
                e.user_ref,
                user_id,
                cohort_id,
                e.kind,
                latency,
                None if latency is None else latency_bucket(latency),
                when,
                now,
                column,
                e.value,
                None,
            )
        )
    days = set(minutes.values())
    _stamp_arms(workflow, rows)
    store = _store_postgresql if connection.vendor == "postgresql" else _store_other
    with transaction.atomic():
        accepted, newly_dirty = store(workflow, rows, days)
        if outputs:
            output_reviews_pick(
                workflow_id=workflow.pk, outputs=outputs, attribution=attribution, now=now
            )
        if newly_dirty:
            wake("rollout.tasks.rollup_usage")
    return IngestResult(accepted=accepted, duplicate=len(events) - accepted)
