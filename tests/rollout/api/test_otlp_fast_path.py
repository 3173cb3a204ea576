"""The OTLP endpoint's typed check of GenAI spans (rollout.api.otlp_events) accepts only what the
events API's validation (rollout.api.events._validate) accepts of the same span's items, and makes
the very events it makes: on every rule, on each side of its edge."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from rollout.api.events import MAX_ATTRS_BYTES, MAX_LATENCY_MS, _validate
from rollout.api.otlp_events import EventChecks, checked_span_events, genai_events
from rollout.lib.cost_attrs import MAX_TOKENS
from rollout.lib.otlp_decode import FlagEvaluation, SpanFacts
from rollout.lib.otlp_genai import ExportPeople, Person, export_people, span_attrs, span_events
from rollout.selectors.retention import RetentionCutoffs

NOW = datetime.now(UTC)
NS = 10**9
START = int((NOW - timedelta(minutes=5)).timestamp() * NS) + 123_456_789
RETENTION = RetentionCutoffs(
    usage_events=NOW - timedelta(days=90),
    usage_events_months=3,
    feedback_text=None,
    notice_receipts=None,
)
_DROP = object()


def _span(**changes) -> SpanFacts:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.response.model": "gpt-4.1-2025-04-14",
        "gen_ai.usage.input_tokens": 812,
        "gen_ai.usage.output_tokens": 164,
    }
    for name, value in changes.pop("attributes", {}).items():
        if value is _DROP:
            attributes.pop(name, None)
        else:
            attributes[name] = value
    facts = {
        "trace_id": "ab" * 16,
        "span_id": "cd" * 8,
        "parent_span_id": "",
        "start_ns": START,
        "end_ns": START + 1_234_567_890,
        "status_error": False,
        "attributes": attributes,
        "flags": (),
        **changes,
    }
    return SpanFacts(**facts)


def _attr(name: str, value) -> dict:
    return {"attributes": {name: value}}


# Every rule the events API applies to a span's items, on each side of its edge.
SPANS = {
    "plain": {},
    "no tokens": {
        "attributes": {"gen_ai.usage.input_tokens": _DROP, "gen_ai.usage.output_tokens": _DROP}
    },
    "only the operation": {
        "attributes": {
            "gen_ai.provider.name": _DROP,
            "gen_ai.request.model": _DROP,
            "gen_ai.response.model": _DROP,
            "gen_ai.usage.input_tokens": _DROP,
            "gen_ai.usage.output_tokens": _DROP,
        }
    },
    "status error": {"status_error": True},
    "error.type": _attr("error.type", "timeout"),
    "error.type with a control": _attr("error.type", "time\x00out"),
    "error.type with a line break": _attr("error.type", "time\nout"),
    "error.type blank": _attr("error.type", "   "),
    "error.type a number": _attr("error.type", 5),
    "model with NUL": _attr("gen_ai.response.model", "gpt\x00"),
    "model with a line break": _attr("gen_ai.response.model", "gpt\n4"),
    "model with a tab": _attr("gen_ai.response.model", "gpt\t4"),
    "model long": _attr("gen_ai.response.model", "m" * 500),
    "model not text": _attr("gen_ai.response.model", 7),
    "provider older name": {
        "attributes": {"gen_ai.provider.name": _DROP, "gen_ai.system": "anthropic"}
    },
    "tokens zero": _attr("gen_ai.usage.input_tokens", 0),
    "tokens at the limit": _attr("gen_ai.usage.input_tokens", 100_000_000),
    "tokens past the limit": _attr("gen_ai.usage.input_tokens", 100_000_001),
    "tokens negative": _attr("gen_ai.usage.output_tokens", -1),
    "tokens a whole double": _attr("gen_ai.usage.input_tokens", 12.0),
    "tokens a fraction": _attr("gen_ai.usage.input_tokens", 12.5),
    "tokens NaN": _attr("gen_ai.usage.input_tokens", math.nan),
    "tokens infinite": _attr("gen_ai.usage.input_tokens", math.inf),
    "tokens text": _attr("gen_ai.usage.input_tokens", "12"),
    "tokens true": _attr("gen_ai.usage.input_tokens", True),
    "tokens none (an array)": _attr("gen_ai.usage.input_tokens", None),
    "trace id zero": {"trace_id": "0" * 32},
    "trace id short": {"trace_id": "ab" * 12},
    "trace id absent": {"trace_id": ""},
    "span id zero": {"span_id": "0" * 16},
    "span id long": {"span_id": "cd" * 12},
    "no start": {"start_ns": 0},
    "end before start": {"end_ns": START - 1},
    "zero latency": {"end_ns": START},
    "latency at the limit": {"end_ns": START + MAX_LATENCY_MS * 10**6},
    "latency past the limit": {"end_ns": START + (MAX_LATENCY_MS + 1) * 10**6},
    "a day old": {"start_ns": START - 86_400 * NS, "end_ns": START - 86_000 * NS},
    "past retention": {"start_ns": START - 100 * 86_400 * NS, "end_ns": START - 99 * 86_400 * NS},
    "past 400 days": {"start_ns": START - 401 * 86_400 * NS, "end_ns": START - 400 * 86_400 * NS},
    "a minute ahead": {"start_ns": START + 360 * NS, "end_ns": START + 361 * NS},
    "two hours ahead": {"start_ns": START + 7_500 * NS, "end_ns": START + 7_501 * NS},
    "year 9999": {"start_ns": 253_402_300_000 * NS, "end_ns": 253_402_300_001 * NS},
    "attrs over 2 KiB": {
        "attributes": {
            "gen_ai.operation.name": "o" * 120,
            "gen_ai.response.model": "m" * 120,
            "gen_ai.provider.name": "p" * 120,
            "error.type": "e" * 120,
        }
    },
}

PEOPLE = {
    "an email": ("mia@example.com", ""),
    "with a variant": ("mia@example.com", "shadow"),
    "unattributed": ("(unattributed trace)", ""),
    "254 characters": ("a" * 254, ""),
    "255 characters": ("a" * 255, ""),
    "padded": (" mia@example.com ", ""),
    "blank": ("   ", ""),
    "empty": ("", ""),
    "line break": ("mia\n@example.com", ""),
    "NUL": ("mia\x00", ""),
    "a long variant": ("mia@example.com", "v" * 2000),
    "a variant with a control": ("mia@example.com", "sha\x07dow"),
}


def _fields(event):
    return (
        event.event_id,
        event.user_ref,
        event.kind,
        event.occurred_at,
        event.latency_ms,
        dict(event.attrs),
        event.value,
    )


@pytest.mark.parametrize("person", list(PEOPLE.values()), ids=list(PEOPLE))
@pytest.mark.parametrize("changes", list(SPANS.values()), ids=list(SPANS))
def test_the_typed_check_accepts_only_what_the_events_api_accepts(changes, person):
    span = _span(**changes)
    ref, variant = person
    fast = checked_span_events(span, ref, variant, EventChecks(RETENTION, now=NOW))
    valid, errors = _validate(
        span_events(span, ref, variant), non_finite_anywhere=False, retention=RETENTION
    )
    if fast is None:
        return  # _validate decides (and says why): what the endpoint then asks it
    assert errors == []
    assert [_fields(e) for e in fast] == [_fields(e) for e in valid]


def test_plainly_valid_spans_take_the_typed_check():
    """The cases a tool sends every day do not fall back to _validate (or nothing is gained)."""
    checks = EventChecks(RETENTION, now=NOW)
    for name in ("plain", "no tokens", "status error", "error.type", "tokens zero", "a day old"):
        for ref, variant in (("mia@example.com", ""), ("mia@example.com", "shadow")):
            events = checked_span_events(_span(**SPANS[name]), ref, variant, checks)
            assert events is not None, name
            assert {e.kind for e in events} <= {"invocation", "error"}
    [event] = checked_span_events(_span(), "(unattributed trace)", "", checks)
    assert event.attrs == {
        "operation": "chat",
        "model_version": "gpt-4.1-2025-04-14",
        "model_provider": "openai",
        "input_tokens": 812,
        "output_tokens": 164,
    }


def test_the_size_limit_is_the_events_apis():
    checks = EventChecks(RETENTION, now=NOW)
    assert checks.attrs_ok({"k": "x" * (MAX_ATTRS_BYTES - 10)})
    assert not checks.attrs_ok({"k": "x" * MAX_ATTRS_BYTES})
    assert not checks.attrs_ok({"k": 1.5})
    assert not checks.attrs_ok({"k": True})


def test_an_export_mixing_valid_and_invalid_spans_answers_as_the_events_api(db):
    spans = [
        _span(span_id=f"{i + 1:016x}", **changes)
        for i, changes in enumerate(
            [
                {},
                _attr("gen_ai.usage.input_tokens", -1),
                {"status_error": True},
                {"trace_id": "0" * 32},
                _attr("gen_ai.usage.output_tokens", 3),
            ]
        )
    ]
    person = Person("mia@example.com", "live")
    people = {span.trace_id: person for span in spans}
    found = ExportPeople(spans, [None] * len(spans), people, set())
    mapped = genai_events(found, spans, "support", retention=RETENTION)
    assert mapped.rejected == {1, 3}
    assert sorted(mapped.by_span) == [0, 2, 4]
    assert [len(mapped.by_span[i]) for i in (0, 2, 4)] == [1, 2, 1]
    # The errors are the events API's own, for the items of the spans not plainly valid.
    items = [item for i in (1, 3) for item in span_events(spans[i], *person)]
    _, expected = _validate(items, non_finite_anywhere=False, retention=RETENTION)
    assert [(e["field"], e["message"]) for e in mapped.errors] == [
        (e["field"], e["message"]) for e in expected
    ]
    assert mapped.persons == [person] * 5 and mapped.foreign == 0


def test_another_workflows_span_has_no_events():
    span = _span(flags=(FlagEvaluation(key="other", variant="live", context_id="x"),))
    mapped = genai_events(export_people([span], "support"), [span], "support", retention=RETENTION)
    assert (mapped.foreign, mapped.by_span, mapped.persons) == (1, {}, [None])


def test_what_is_remembered_across_spans_never_answers_for_another():
    """One export's checks remember attrs per distinct mapped attributes (values and types):
    12, 12.0, 12.5 and True are different values to it (True == 1 in Python, not in JSON)."""
    checks = EventChecks(RETENTION, now=NOW)
    cases = [*SPANS.values(), *reversed(SPANS.values())]
    for changes in cases:
        for ref, variant in [*PEOPLE.values(), *reversed(PEOPLE.values())]:
            span = _span(**changes)
            fast = checked_span_events(span, ref, variant, checks)
            valid, errors = _validate(
                span_events(span, ref, variant), non_finite_anywhere=False, retention=RETENTION
            )
            if fast is not None:
                assert errors == []
                assert [_fields(e) for e in fast] == [_fields(e) for e in valid]
    for tokens, taken in ((12, True), (12.0, True), (True, False), ("12", False), (12.5, False)):
        span = _span(**_attr("gen_ai.usage.input_tokens", tokens))
        fast = checked_span_events(span, "mia@example.com", "", checks)
        assert (fast is not None) is taken, tokens
        if taken:  # a whole double is the same count (otlp_genai._tokens)
            assert type(fast[0].attrs["input_tokens"]) is int


def test_token_counts_in_range_are_judged_once_per_shape(monkeypatch):
    """A tool's spans differ in their counts: attrs_ok judges their shape once, not each span."""
    import rollout.api.otlp_events as otlp_events

    judged = []
    real = otlp_events.cost_attrs_error
    monkeypatch.setattr(otlp_events, "cost_attrs_error", lambda a: judged.append(a) or real(a))
    checks = EventChecks(RETENTION, now=NOW)
    for n in range(100):
        counts = {"gen_ai.usage.input_tokens": 800 + n, "gen_ai.usage.output_tokens": 3 * n}
        [event] = checked_span_events(_span(attributes=counts), "mia@example.com", "", checks)
        assert (event.attrs["input_tokens"], event.attrs["output_tokens"]) == (800 + n, 3 * n)
    assert len(judged) == 1
    # Past the range, a count is itself part of the shape: judged, and refused.
    past = _span(**_attr("gen_ai.usage.output_tokens", MAX_TOKENS + 1))
    assert checked_span_events(past, "mia@example.com", "", checks) is None
    assert len(judged) == 2


def test_attrs_that_fit_only_with_their_own_counts_go_to_the_events_apis_check():
    """attrs_ok judges a shape at its longest counts (nine digits each). Attrs within 2 KiB with
    their own counts but not with the longest are left to _validate, which takes them."""
    span = _span()  # counts 812 and 164

    def size(attrs: dict) -> int:
        return len(json.dumps(attrs))

    def longest(attrs: dict) -> dict:
        return {**attrs, "input_tokens": MAX_TOKENS, "output_tokens": MAX_TOKENS}

    variant = next(
        "v" * n
        for n in range(1, MAX_ATTRS_BYTES)
        if size(longest(span_attrs(span, "v" * n))) > MAX_ATTRS_BYTES
    )
    assert size(span_attrs(span, variant)) <= MAX_ATTRS_BYTES
    checks = EventChecks(RETENTION, now=NOW)

    assert checked_span_events(span, "mia@example.com", variant, checks) is None
    valid, errors = _validate(
        span_events(span, "mia@example.com", variant),
        non_finite_anywhere=False,
        retention=RETENTION,
    )
    assert errors == [] and len(valid) == 1
    found = ExportPeople([span], [Person("mia@example.com", variant)], {}, set())
    mapped = genai_events(found, [span], "support", retention=RETENTION)
    assert (mapped.rejected, mapped.errors) == (set(), [])
    assert [_fields(e) for e in mapped.by_span[0]] == [_fields(e) for e in valid]
