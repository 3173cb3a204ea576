"""Storing GenAI spans from POST /otlp/v1/traces as usage events (issue 19 §2).

The caller (rollout.api.otlp) decodes the export, maps each GenAI span to events
(rollout.lib.otlp_genai) and validates them exactly as POST /api/v1/events does; this service
stores them through the same path, `usage_events_store` (rollups, threshold evaluation), in
chunks of at most CHUNK events.

Attribution across requests: a trace's person usually arrives on a parent span exported after its
children. So:
* the people named by this export's traces are remembered (`OtlpTrace`, for TRACE_KEEP);
* a span whose trace names nobody yet — here or in a remembered trace — is held (`OtlpHeldSpan`)
  for ROLLOUT_OTLP_HOLD_SECONDS;
* when a later export names the trace's person, its held spans are stored for that person, and
  their rows deleted, in one transaction;
* `otlp_holds_release` (every minute) stores spans whose hold ended as nobody's
  (UNATTRIBUTED_REF: counted, under "Not in a cohort", like any person Rollout does not know) and
  forgets old traces.

A span exported again counts once: its events' ids are derived from trace and span ids (the events
table is unique on them) and a held span is unique on its invocation event id.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.db import one_of_texts
from rollout.models import OtlpHeldSpan, OtlpTokenCount, OtlpTrace, Workflow
from rollout.services.usage_ingest import EventData, IngestResult, usage_events_store

CHUNK = 1000  # events per usage_events_store call: the size the events API is measured at
DEFAULT_HOLD_SECONDS = 300
RELEASE_BATCH = 500  # held spans released per transaction
# A trace's person is kept well past the hold: a child ending after its parent is still named.
TRACE_KEEP_HOLDS = 4
# The person of a span held past its hold: no one Rollout knows, so counted under "Not in a
# cohort" (rollout.selectors.usage), as one unknown person.
UNATTRIBUTED_REF = "(unattributed trace)"


def hold_seconds() -> int:
    return int(getattr(settings, "ROLLOUT_OTLP_HOLD_SECONDS", DEFAULT_HOLD_SECONDS))


@dataclass(frozen=True)
class PendingSpan:
    """A GenAI span whose trace named nobody yet: its validated events (user_ref unset)."""

    trace_id: str
    events: tuple[EventData, ...]


@dataclass(frozen=True)
class OtlpIngestResult:
    accepted: int
    duplicate: int
    held: int


def _attributed(events: Iterable[EventData], user_ref: str, variant: str) -> list[EventData]:
    out = []
    for event in events:
        attrs = event.attrs
        if variant and "variant" not in attrs:
            attrs = {**attrs, "variant": variant}
        out.append(event._replace(user_ref=user_ref, attrs=attrs))
    return out


def _as_json(events: Sequence[EventData]) -> list[dict]:
    return [
        {
            "event_id": str(e.event_id),
            "kind": e.kind,
            "occurred_at": e.occurred_at.isoformat(),
            "latency_ms": e.latency_ms,
            "attrs": dict(e.attrs),
        }
        for e in events
    ]


def _from_json(items: list[dict]) -> list[EventData]:
    return [
        EventData(
            event_id=uuid.UUID(item["event_id"]),
            user_ref="",
            kind=item["kind"],
            occurred_at=datetime.fromisoformat(item["occurred_at"]),
            latency_ms=item["latency_ms"],
            attrs=item["attrs"],
        )
        for item in items
    ]


def _store(workflow: Workflow, events: list[EventData]) -> IngestResult:
    accepted = duplicate = 0
    for start in range(0, len(events), CHUNK):
        result = usage_events_store(workflow=workflow, events=events[start : start + CHUNK])
        accepted += result.accepted
        duplicate += result.duplicate
    return IngestResult(accepted=accepted, duplicate=duplicate)


@transaction.atomic
def otlp_spans_ingest(
    *,
    workflow: Workflow,
    token_id: int,
    attributed: Sequence[EventData],
    pending: Sequence[PendingSpan],
    people: dict[str, tuple[str, str]],
    genai_spans: int,
    ignored_spans: int,
    remember: set[str] | None = None,
    now: datetime | None = None,
) -> OtlpIngestResult:
    """Store one export: `attributed` events at once; `pending` spans for the person their trace
    names (in `people`, trace id → (user_ref, variant), or remembered), else held. Spans held
    before for a trace `people` names are stored for that person. The person of the traces in
    `remember` (default: all of `people`) is remembered for spans still to come. Counts the
    token's spans."""
    now = now or timezone.now()
    kept = people if remember is None else {t: people[t] for t in remember if t in people}
    if kept:
        _remember(workflow, kept, now)
    waiting = {span.trace_id for span in pending}
    known = _known(workflow, waiting) if waiting else {}
    events = list(attributed)
    to_hold = []
    for span in pending:
        if span.trace_id in known:
            events.extend(_attributed(span.events, *known[span.trace_id]))
        else:
            to_hold.append(span)
    if people and OtlpHeldSpan.objects.filter(workflow=workflow).exists():
        # Spans held by earlier exports of these traces: their person has come. (Asked only when
        # the workflow holds any: most exports carry their traces' children along.)
        held = list(
            OtlpHeldSpan.objects.select_for_update()
            .filter(workflow=workflow, trace_id__in=one_of_texts(set(people)))
            .order_by("pk")
        )
        if held:
            first = _known(workflow, {row.trace_id for row in held})
            for row in held:
                events.extend(_attributed(_from_json(row.events), *first[row.trace_id]))
            OtlpHeldSpan.objects.filter(pk__in=[row.pk for row in held]).delete()
    if to_hold:
        due = now + timedelta(seconds=hold_seconds())
        OtlpHeldSpan.objects.bulk_create(
            [
                OtlpHeldSpan(
                    workflow=workflow,
                    trace_id=span.trace_id,
                    event_id=span.events[0].event_id,
                    events=_as_json(span.events),
                    held_at=now,
                    due_at=due,
                )
                for span in to_hold
            ],
            ignore_conflicts=True,  # exported again while held: held once
        )
    result = _store(workflow, events) if events else IngestResult(accepted=0, duplicate=0)
    _count(token_id, genai_spans=genai_spans, ignored_spans=ignored_spans, now=now)
    return OtlpIngestResult(accepted=result.accepted, duplicate=result.duplicate, held=len(to_hold))


_REMEMBER = f"""
    INSERT INTO {OtlpTrace._meta.db_table} (workflow_id, trace_id, user_ref, variant, seen_at)
    SELECT %s, t.trace_id, t.user_ref, t.variant, %s
    FROM unnest(%s::text[], %s::text[], %s::text[]) AS t(trace_id, user_ref, variant)
    ORDER BY t.trace_id
    ON CONFLICT (workflow_id, trace_id) DO NOTHING
"""  # noqa: S608 — the table name is ours; every value is a parameter.


def _remember(workflow: Workflow, people: dict[str, tuple[str, str]], now: datetime) -> None:
    """Remember the person each trace named; a trace keeps the person it first named."""
    if connection.vendor == "postgresql":
        # One statement with three array parameters: bulk_create's placeholders per row cost more
        # than the rest of the export's storage.
        traces = list(people)
        with connection.cursor() as cursor:
            cursor.execute(
                _REMEMBER,
                [
                    workflow.pk,
                    now,
                    traces,
                    [people[t][0] for t in traces],
                    [people[t][1] for t in traces],
                ],
            )
        return
    OtlpTrace.objects.bulk_create(
        [
            OtlpTrace(workflow=workflow, trace_id=t, user_ref=ref, variant=variant, seen_at=now)
            for t, (ref, variant) in people.items()
        ],
        ignore_conflicts=True,
    )


def _known(workflow: Workflow, traces: set[str]) -> dict[str, tuple[str, str]]:
    """trace id → (user_ref, variant) for the traces of `traces` a person was remembered for."""
    rows = OtlpTrace.objects.filter(workflow=workflow, trace_id__in=one_of_texts(traces))
    return {
        t: (ref, variant) for t, ref, variant in rows.values_list("trace_id", "user_ref", "variant")
    }


def _count(token_id: int, *, genai_spans: int, ignored_spans: int, now: datetime) -> None:
    updated = OtlpTokenCount.objects.filter(token_id=token_id).update(
        genai_spans=F("genai_spans") + genai_spans,
        ignored_spans=F("ignored_spans") + ignored_spans,
        last_export_at=now,
    )
    if not updated:
        _, created = OtlpTokenCount.objects.get_or_create(
            token_id=token_id,
            defaults={
                "genai_spans": genai_spans,
                "ignored_spans": ignored_spans,
                "last_export_at": now,
            },
        )
        if not created:  # a concurrent first export made the row meanwhile
            _count(token_id, genai_spans=genai_spans, ignored_spans=ignored_spans, now=now)


def otlp_holds_release(*, now: datetime | None = None) -> int:
    """Store every span whose hold has ended — for its trace's person if one arrived meanwhile,
    else as UNATTRIBUTED_REF — and forget traces older than the hold × TRACE_KEEP_HOLDS.
    Returns the spans released. Safe to run twice at once: rows are claimed with SKIP LOCKED and
    deleted in the transaction that stores their events."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            rows = list(
                OtlpHeldSpan.objects.select_for_update(skip_locked=True)
                .filter(due_at__lte=now)
                .order_by("due_at", "pk")[:RELEASE_BATCH]
            )
            if not rows:
                break
            by_workflow: dict[int, list[OtlpHeldSpan]] = {}
            for row in rows:
                by_workflow.setdefault(row.workflow_id, []).append(row)
            workflows = Workflow.objects.in_bulk(list(by_workflow))
            for workflow_id, held in by_workflow.items():
                known = {
                    t.trace_id: (t.user_ref, t.variant)
                    for t in OtlpTrace.objects.filter(
                        workflow_id=workflow_id, trace_id__in={r.trace_id for r in held}
                    )
                }
                events: list[EventData] = []
                for row in held:
                    person = known.get(row.trace_id, (UNATTRIBUTED_REF, ""))
                    events.extend(_attributed(_from_json(row.events), *person))
                if workflow_id in workflows:
                    _store(workflows[workflow_id], events)
            OtlpHeldSpan.objects.filter(pk__in=[row.pk for row in rows]).delete()
            released += len(rows)
    OtlpTrace.objects.filter(
        seen_at__lt=now - timedelta(seconds=hold_seconds() * TRACE_KEEP_HOLDS)
    ).delete()
    return released
