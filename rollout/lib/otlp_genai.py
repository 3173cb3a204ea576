"""GenAI spans (OpenTelemetry's GenAI semantic conventions) → usage events (issue 19 §2).

Pure code over rollout.lib.otlp_decode's SpanFacts:

* each span with `gen_ai.operation.name` is an `invocation` event, plus an `error` event when its
  status is ERROR or it sets `error.type`; latency from start to end; `attrs.model_version` from
  `gen_ai.response.model` (else `gen_ai.request.model`), `attrs.model_provider` from
  `gen_ai.provider.name` (else the older `gen_ai.system`), `attrs.input_tokens` /
  `attrs.output_tokens` from `gen_ai.usage.*` — the attrs names the events API, the cost rollup
  and the configuration check already read;
* the event id is uuid5(OTLP_NAMESPACE, "trace:span:kind"), so a span exported again counts once;
* the person comes from a `feature_flag.evaluation` event whose `feature_flag.key` is the
  workflow's slug (`feature_flag.context.id`, with the variant) on the span or its nearest
  ancestor carrying flag evaluations, else `user.id` (or the older `enduser.id`) on the span, else
  from any span of the same trace (`export_people`).

A span whose nearest flag-carrying span (itself or an ancestor in the request) evaluated flags,
none of them this workflow's, belongs to another workflow.
"""

import functools
import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from core.text import has_line_breaks_or_controls
from rollout.lib.otlp_decode import SpanFacts

# Fixed forever: changing it would count every re-exported span again.
OTLP_NAMESPACE = uuid.UUID("6f1b7c3e-2d4a-5e8f-9a0b-1c2d3e4f5a6b")
MAX_USER_REF = 254
MAX_VARIANT = 40
MAX_TEXT = 120  # a model or provider name kept in attrs (the events API's 2 KiB holds several)
ZERO_TRACE = "0" * 32
ZERO_SPAN = "0" * 16


class Person(NamedTuple):
    user_ref: str
    variant: str = ""


_NAMESPACE_BYTES = OTLP_NAMESPACE.bytes
# uuid5's version (5) and variant (RFC 4122) bits, set on the first 16 bytes of the SHA-1.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (5 << 76) | (0x8000 << 48)
_new_uuid = object.__new__
_set = object.__setattr__


def event_id(trace_id: str, span_id: str, kind: str) -> uuid.UUID:
    """uuid.uuid5(OTLP_NAMESPACE, "trace:span:kind"), made without uuid.UUID's checks of its
    arguments (twice per span of every export; tests/rollout/lib/test_otlp_genai.py compares)."""
    name = f"{trace_id}:{span_id}:{kind}".encode()
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()
    made = _new_uuid(uuid.UUID)
    _set(made, "int", (int.from_bytes(digest[:16]) & _CLEAR) | _SET)
    _set(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def clean_ref(value: Any) -> str:
    """A person's reference as the events API accepts it, or "" when it is not one."""
    if not isinstance(value, str):
        return ""
    if len(value) > _REMEMBERED_REF:
        return _clean_text_ref.__wrapped__(value)  # not kept: it may be long
    return _clean_text_ref(value)


_REMEMBERED_REF = 2 * MAX_USER_REF


@functools.lru_cache(maxsize=4096)  # asked several times per span; a tool has few people
def _clean_text_ref(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_USER_REF or has_line_breaks_or_controls(value):
        return ""
    return value


def clean_variant(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_VARIANT or has_line_breaks_or_controls(value):
        return ""
    return value


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:MAX_TEXT] if value else None


def _tokens(value: Any) -> Any:
    # OTLP carries them as int; a double that is whole is the same count. Anything else is passed
    # on as it came, so the events API's check (rollout.lib.cost_attrs) rejects the span.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def own_person(span: SpanFacts, slug: str) -> Person | None:
    """The person the span names itself: its own evaluation of this workflow's flag, else
    `user.id` (or the older `enduser.id`)."""
    return _span_people(span, slug)[0]


def _span_people(span: SpanFacts, slug: str) -> tuple[Person | None, Person | None, str]:
    """(the span's own person, the person of its evaluation of this workflow's flag, its clean
    `user.id`): what every question about the people of a span reads, each ref cleaned once."""
    flagged = None
    for flag in span.flags:
        if flag.key == slug:
            ref = clean_ref(flag.context_id)
            if ref:
                flagged = Person(ref, clean_variant(flag.variant))
                break
    attributes = span.attributes
    user_id = clean_ref(attributes.get("user.id"))
    ref = user_id or clean_ref(attributes.get("enduser.id"))
    return flagged or (Person(ref) if ref else None), flagged, user_id


class ExportPeople(NamedTuple):
    """Who the spans of one export name, read in one pass over them."""

    genai: list[SpanFacts]  # the GenAI spans, in the order sent
    own: list[Person | None]  # each GenAI span's own person (own_person), in the same order
    by_trace: dict[str, Person]  # trace id → the person named anywhere in it
    remember: set[str]  # the traces whose person later exports may need (below)


def export_people(spans: Iterable[SpanFacts], slug: str) -> ExportPeople:
    """The export's GenAI spans and the people its spans name.

    A trace names the person of a flag evaluation of this workflow first, then `user.id` /
    `enduser.id`, from any of these spans. Its person is worth remembering for later exports
    unless every span of it here is a GenAI span naming its own person by `user.id` without
    flag evaluations: the spans still to come of such a trace, made by the same
    instrumentation, name theirs too. Spans usually end, and are exported, before their
    parents, so the person a parent names (a request's user.id, the flag evaluation) is what a
    late child needs; remembering every trace would double an export's writes."""
    genai: list[SpanFacts] = []
    own: list[Person | None] = []
    by_flag: dict[str, Person] = {}
    by_attr: dict[str, Person] = {}
    self_named: dict[str, bool] = {}
    for span in spans:
        person, flagged, user_id = _span_people(span, slug)
        trace = span.trace_id
        if flagged is not None and trace not in by_flag:
            by_flag[trace] = flagged
        if person is not None and flagged is not person and trace not in by_attr:
            by_attr[trace] = person
        is_genai = span.is_genai
        if is_genai:
            genai.append(span)
            own.append(person)
        named = is_genai and not span.flags and bool(user_id)
        self_named[trace] = self_named.get(trace, True) and named
    by_trace = {**by_attr, **by_flag}
    remember = {t for t, named in self_named.items() if not named and t in by_trace}
    return ExportPeople(genai, own, by_trace, remember)


class Ownership(NamedTuple):
    foreign: bool  # the span belongs to another workflow
    person: Person | None  # named on the span or its nearest flag-carrying ancestor


def ownership(
    span: SpanFacts,
    slug: str,
    by_id: dict[tuple[str, str], SpanFacts],
    *,
    own: Person | None | Literal[False] = False,
    max_hops: int = 64,
) -> Ownership:
    """Whose span this is, from the span itself and its ancestors sent in the same request.
    `own`: the span's own person when known already (own_person)."""
    if own is False:
        own = own_person(span, slug)
    current: SpanFacts | None = span
    for _ in range(max_hops):
        if current is None:
            break
        if current.flags:
            ours = [f for f in current.flags if f.key == slug]
            if not ours:
                return Ownership(foreign=True, person=None)
            ref = clean_ref(ours[0].context_id)
            flagged = Person(ref, clean_variant(ours[0].variant)) if ref else None
            return Ownership(foreign=False, person=flagged or own)
        parent = current.parent_span_id
        current = by_id.get((current.trace_id, parent)) if parent and parent != ZERO_SPAN else None
    return Ownership(foreign=False, person=own)


def span_attrs(span: SpanFacts, variant: str = "") -> dict[str, Any]:
    """The attrs of the span's invocation event (its error event adds `error_type`)."""
    a = span.attributes
    attrs: dict[str, Any] = {}
    operation = _text(a.get("gen_ai.operation.name"))
    if operation:
        attrs["operation"] = operation
    model = _text(a.get("gen_ai.response.model")) or _text(a.get("gen_ai.request.model"))
    if model:
        attrs["model_version"] = model
    provider = _text(a.get("gen_ai.provider.name")) or _text(a.get("gen_ai.system"))
    if provider:
        attrs["model_provider"] = provider
    if "gen_ai.usage.input_tokens" in a:
        attrs["input_tokens"] = _tokens(a["gen_ai.usage.input_tokens"])
    if "gen_ai.usage.output_tokens" in a:
        attrs["output_tokens"] = _tokens(a["gen_ai.usage.output_tokens"])
    if variant:
        attrs["variant"] = variant
    return attrs


def error_type(span: SpanFacts) -> str | None:
    """`error.type` as the error event's attrs.error_type (None when not set)."""
    return _text(span.attributes.get("error.type"))


def has_valid_ids(span: SpanFacts) -> bool:
    return (
        len(span.trace_id) == 32
        and span.trace_id != ZERO_TRACE
        and len(span.span_id) == 16
        and span.span_id != ZERO_SPAN
    )


def has_times(span: SpanFacts) -> bool:
    return span.start_ns > 0 and span.end_ns >= span.start_ns


def occurred_at(span: SpanFacts) -> datetime:
    return datetime.fromtimestamp(span.start_ns / 1e9, tz=UTC)


def latency_ms(span: SpanFacts) -> int:
    return round((span.end_ns - span.start_ns) / 1e6)


def span_events(span: SpanFacts, user_ref: str, variant: str = "") -> list[dict[str, Any]]:
    """The span's events, shaped as items of POST /api/v1/events (to be validated as those are).
    A span without valid ids or times gives items the validation refuses, saying why."""
    attrs = span_attrs(span, variant)
    valid_ids = has_valid_ids(span)
    timed = has_times(span)
    item: dict[str, Any] = {
        # An invalid id or time is sent on as the events API would get it: refused, with a reason.
        "event_id": event_id(span.trace_id, span.span_id, "invocation") if valid_ids else "",
        "user_ref": user_ref,
        "kind": "invocation",
        "occurred_at": occurred_at(span).isoformat() if timed else None,
        "attrs": attrs,
    }
    if timed:
        item["latency_ms"] = latency_ms(span)
    items = [item]
    error = error_type(span)
    if span.status_error or error:
        items.append(
            {
                **item,
                "event_id": event_id(span.trace_id, span.span_id, "error") if valid_ids else "",
                "kind": "error",
                "attrs": {**attrs, "error_type": error} if error else attrs,
            }
        )
    return items
