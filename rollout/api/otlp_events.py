"""GenAI spans → the usage events they are, validated by the events API's rules (issue 19 §2).

POST /otlp/v1/traces takes the events API's validation as it is (rollout.api.events._validate):
the same rules, and the same messages for what they refuse. Asking it meant shaping every span
as a JSON-like item, checking the items' types in pydantic and parsing their times back from
text — the largest Python cost of an export, for values that are already typed here. So a span
is first checked here, on its typed facts, by the very comparisons the events API's first pass
makes (`_validate`), and only for the shapes a GenAI span has: ids derived from valid trace and
span ids, a start and end, a clean person, attrs of texts and whole numbers. A span that is not
plainly valid that way goes to `_validate` as the events API's items (`span_events`), which
accepts or refuses it and says why. This check only ever refuses more than `_validate`, and what
it accepts it turns into the very events `_validate` would make
(tests/rollout/api/test_otlp_fast_path.py compares the two on every rule).
"""

from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from core.text import has_line_breaks_or_controls
from rollout.api.events import MAX_ATTRS, MAX_LATENCY_MS, time_window
from rollout.api.events import _attrs_ok as events_attrs_ok  # its size and text checks
from rollout.api.events import _validate as validate_events  # the very same rules per event
from rollout.lib.cost_attrs import MAX_TOKENS, TOKEN_ATTRS, cost_attrs_error, reports_cost
from rollout.lib.otlp_decode import MAPPED_ATTRIBUTES, SpanFacts
from rollout.lib.otlp_genai import (
    ExportPeople,
    Person,
    error_type,
    event_id,
    has_times,
    has_valid_ids,
    latency_ms,
    occurred_at,
    ownership,
    span_attrs,
    span_events,
)
from rollout.selectors.retention import RetentionCutoffs
from rollout.services.otlp_ingest import UNATTRIBUTED_REF
from rollout.services.usage_ingest import EventData

MAX_USER_REF = 254  # EventIn.user_ref's max_length
_INVOCATION = "invocation"
_ERROR = "error"


class EventChecks:
    """The events API's per-event checks for one export: its time window (now, the retention),
    and what it found of each person and each distinct attrs (most spans share them)."""

    def __init__(self, retention: RetentionCutoffs | None, *, now: datetime | None = None) -> None:
        self.earliest, self.latest = time_window(retention, now)
        self._refs: dict[str, bool] = {}
        self._attrs: dict[tuple, bool] = {}  # by shape (attrs_ok)
        self._mapped: dict[tuple, tuple[dict | None, bool, dict | None]] = {}

    def ref_ok(self, ref: str) -> bool:
        ok = self._refs.get(ref)
        if ok is None:
            ok = (
                bool(ref)
                and len(ref) <= MAX_USER_REF
                and ref == ref.strip()
                and not has_line_breaks_or_controls(ref)
            )
            self._refs[ref] = ok
        return ok

    def attrs_ok(self, attrs: dict[str, Any]) -> bool:
        """Whether the events API takes these attrs, judged once per shape: the attrs with each
        token count from 0 to MAX_TOKENS standing for any such count. Spans mostly share their
        attrs but for the counts, and those pass the cost check alike; they differ in length
        only, so the shape is judged at its longest (counts of MAX_TOKENS' digits). A shape
        refused only at its longest goes to `_validate`, which decides on the very counts."""
        if len(attrs) > MAX_ATTRS:
            return False
        shape = []
        for name, value in attrs.items():
            kind = type(value)
            if kind is not str and kind is not int:  # no bool, no float
                return False
            if kind is int and name in TOKEN_ATTRS and 0 <= value <= MAX_TOKENS:
                value = _ANY_COUNT
            shape.append((name, value))
        key = tuple(shape)
        ok = self._attrs.get(key)
        if ok is None:
            longest = {name: MAX_TOKENS if v is _ANY_COUNT else v for name, v in shape}
            ok = events_attrs_ok(longest, {}) and not (
                reports_cost(longest) and cost_attrs_error(longest) is not None
            )
            self._attrs[key] = ok
        return ok

    def span_attrs(
        self, span: SpanFacts, variant: str
    ) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
        """(the invocation's attrs, whether the span has an error event, the error event's
        attrs), each attrs None when not plainly valid. Remembered per distinct mapped
        attributes (their values and types: True == 1 in Python, not in JSON): the spans of an
        export mostly share them, and their events share the attrs (read, never changed)."""
        values = tuple(map(span.attributes.get, MAPPED_ATTRIBUTES, _ABSENTS))
        key = (variant, span.status_error, values, tuple(map(type, values)))
        found = self._mapped.get(key)
        if found is None:
            attrs = span_attrs(span, variant)
            error = error_type(span)
            has_error = span.status_error or bool(error)
            error_attrs = {**attrs, "error_type": error} if error else attrs
            found = (
                attrs if not attrs or self.attrs_ok(attrs) else None,
                has_error,
                error_attrs
                if has_error and (not error_attrs or self.attrs_ok(error_attrs))
                else None,
            )
            self._mapped[key] = found
        return found


_ABSENT = object()
_ANY_COUNT = object()  # in an attrs' shape: a token count from 0 to MAX_TOKENS (attrs_ok)
_ABSENTS = (_ABSENT,) * len(MAPPED_ATTRIBUTES)  # get(name, _ABSENT) for each, in one map()


def checked_span_events(
    span: SpanFacts, user_ref: str, variant: str, checks: EventChecks
) -> list[EventData] | None:
    """The span's events (as `_validate` makes them of `span_events`' items), or None when any
    of them is not plainly valid: then `_validate` is asked. (Runs for every GenAI span of an
    export: the events are made as tuples, without EventData's per-call defaults.)"""
    if not (has_valid_ids(span) and has_times(span) and checks.ref_ok(user_ref)):
        return None
    when = occurred_at(span)
    if not checks.earliest <= when <= checks.latest:
        return None
    latency = latency_ms(span)
    if latency > MAX_LATENCY_MS:
        return None
    attrs, has_error, error_attrs = checks.span_attrs(span, variant)
    if attrs is None:
        return None
    trace_id, span_id = span.trace_id, span.span_id
    invocation_id = event_id(trace_id, span_id, _INVOCATION)
    invocation = _event((invocation_id, user_ref, _INVOCATION, when, latency, attrs, None))
    if not has_error:
        return [invocation]
    if error_attrs is None:
        return None
    error_id = event_id(trace_id, span_id, _ERROR)
    return [invocation, _event((error_id, user_ref, _ERROR, when, latency, error_attrs, None))]


_event = partial(tuple.__new__, EventData)  # EventData(*fields), all seven given


class GenaiEvents(NamedTuple):
    by_span: dict[int, list[EventData]]  # GenAI span (index) → its events, all valid
    persons: list[Person | None]  # each GenAI span's person (None: its trace named nobody)
    foreign: int  # spans of another workflow (no events)
    rejected: set[int]  # spans with an invalid event (none of their events is taken)
    errors: list[dict[str, Any]]  # the events API's errors of those, in span order


def genai_events(
    found: ExportPeople,
    facts: list[SpanFacts],
    slug: str,
    *,
    retention: RetentionCutoffs | None,
) -> GenaiEvents:
    """The GenAI spans' events (`found.genai`, of the export's spans `facts`), validated as the
    events API validates its items."""
    genai, people = found.genai, found.by_trace
    by_id = {(s.trace_id, s.span_id): s for s in facts} if any(s.flags for s in facts) else {}
    checks = EventChecks(retention)
    by_span: dict[int, list[EventData]] = {}
    persons: list[Person | None] = []
    foreign = 0
    items: list[dict[str, Any]] = []  # of the spans not plainly valid, for _validate
    owners: list[int] = []
    for index, (span, own) in enumerate(zip(genai, found.own, strict=True)):
        if by_id:
            owned = ownership(span, slug, by_id, own=own)
            if owned.foreign:
                foreign += 1
                persons.append(None)
                continue
            person = owned.person or people.get(span.trace_id)
        else:  # no flag evaluations in the export: each span is this workflow's, and names its
            # own person or its trace's (ownership() answers so, ancestor by ancestor)
            person = own or people.get(span.trace_id)
        persons.append(person)
        ref, variant = (person.user_ref, person.variant) if person else (UNATTRIBUTED_REF, "")
        events = checked_span_events(span, ref, variant, checks)
        if events is not None:
            by_span[index] = events
            continue
        for item in span_events(span, ref, variant):
            items.append(item)
            owners.append(index)
    if not items:
        return GenaiEvents(by_span, persons, foreign, set(), [])
    valid, errors = validate_events(items, non_finite_anywhere=False, retention=retention)
    rejected = {owners[error["index"]] for error in errors}
    error_indexes = {error["index"] for error in errors}
    valid_indexes = (i for i in range(len(items)) if i not in error_indexes)
    slow: dict[int, list[EventData]] = {}
    for index, event in zip(valid_indexes, valid, strict=True):
        if owners[index] not in rejected:
            slow.setdefault(owners[index], []).append(event)
    by_span.update(slow)
    return GenaiEvents(by_span, persons, foreign, rejected, errors)
