"""GenAI spans → usage events (rollout.lib.otlp_genai)."""

from rollout.lib.otlp_decode import FlagEvaluation, SpanFacts
from rollout.lib.otlp_genai import (
    Person,
    clean_ref,
    event_id,
    export_people,
    own_person,
    ownership,
    span_events,
)

T = "ab" * 16


def span(span_id: str, parent: str = "", flags=(), **attributes) -> SpanFacts:
    return SpanFacts(
        trace_id=T,
        span_id=span_id,
        parent_span_id=parent,
        start_ns=1_800_000_000 * 10**9,
        end_ns=1_800_000_000 * 10**9 + 2_500_000_000,
        status_error=False,
        attributes=attributes,
        flags=tuple(flags),
    )


def flag(key: str, person: str = "p@example.com", variant: str = "shadow") -> FlagEvaluation:
    return FlagEvaluation(key=key, variant=variant, context_id=person)


def test_the_older_attribute_names_and_the_request_model_are_fallbacks():
    s = span(
        "1" * 16,
        **{
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-x",
            "gen_ai.usage.input_tokens": 12.0,
        },
    )
    [item] = span_events(s, "someone")
    assert item["attrs"] == {
        "operation": "chat",
        "model_version": "claude-x",
        "model_provider": "anthropic",
        "input_tokens": 12,
    }
    assert item["latency_ms"] == 2500
    assert item["event_id"] == event_id(T, "1" * 16, "invocation")
    assert item["occurred_at"].startswith("2027-01-15T08:00:00")


def test_an_error_type_makes_an_error_event_too():
    s = span("1" * 16, **{"gen_ai.operation.name": "chat", "error.type": "timeout"})
    kinds = [(i["kind"], i["attrs"].get("error_type")) for i in span_events(s, "x")]
    assert kinds == [("invocation", None), ("error", "timeout")]


def test_a_span_without_ids_or_times_gives_items_the_validation_refuses():
    s = span("0" * 16, **{"gen_ai.operation.name": "chat"})._replace(start_ns=0)
    [item] = span_events(s, "x")
    assert (item["event_id"], item["occurred_at"]) == ("", None)


def test_the_nearest_flag_carrying_ancestor_decides_whose_a_span_is():
    root = span("1" * 16, flags=[flag("mine", "root@example.com", "live")])
    other = span("2" * 16, parent="1" * 16, flags=[flag("theirs")])
    call = span("3" * 16, parent="2" * 16, **{"gen_ai.operation.name": "chat"})
    mine = span("4" * 16, parent="1" * 16, **{"gen_ai.operation.name": "chat", "user.id": "u"})
    by_id = {(s.trace_id, s.span_id): s for s in (root, other, call, mine)}
    assert ownership(call, "mine", by_id).foreign is True
    assert ownership(mine, "mine", by_id) == (False, Person("root@example.com", "live"))
    # Nothing sent with it evaluated a flag: its own user.id, if any.
    assert ownership(mine, "mine", {}) == (False, Person("u"))


def test_a_trace_names_its_person_by_flag_first_then_user_id():
    spans = [span("1" * 16, **{"user.id": "by-attr"}), span("2" * 16, flags=[flag("mine")])]
    assert export_people(spans, "mine").by_trace == {T: Person("p@example.com", "shadow")}
    assert export_people(spans[:1], "mine").by_trace == {T: Person("by-attr")}
    assert export_people([span("1" * 16, **{"user.id": "bad\x00ref"})], "mine").by_trace == {}


def test_one_pass_over_an_export_finds_each_spans_person_and_the_traces_to_remember():
    """export_people reads each span once: each GenAI span's own person (as own_person finds
    it), each trace's person, and the traces to remember: all but those whose every span is a
    GenAI span naming its own person by user.id, without flag evaluations."""
    chat = {"gen_ai.operation.name": "chat"}
    traces = {
        "a" * 32: [span("1" * 16, **chat, **{"user.id": "ann"})],  # self-named: not remembered
        "b" * 32: [
            span("2" * 16, **chat),  # a child naming nobody …
            span("3" * 16, **{"user.id": "bob"}),  # … its parent names the person
        ],
        "c" * 32: [
            span("4" * 16, **chat, **{"enduser.id": "cy"}),  # the older name: remembered
            span("5" * 16, flags=[flag("other", "x")], **{"user.id": "cy-2"}),
            span("6" * 16, flags=[flag("mine", " ", "live"), flag("mine", "dee", "broad")]),
        ],
        "d" * 32: [span("7" * 16, **chat, **{"user.id": "bad\x00ref"})],  # names nobody
        "e" * 32: [span("8" * 16, **chat, **{"user.id": "eve"}), span("9" * 16, **chat)],
    }
    spans = [s._replace(trace_id=t) for t, group in traces.items() for s in group]
    found = export_people(spans, "mine")
    assert found.genai == [s for s in spans if s.is_genai]
    assert found.own == [own_person(s, "mine") for s in found.genai]
    assert found.own[:2] == [Person("ann"), None]
    assert found.by_trace == {
        "a" * 32: Person("ann"),
        "b" * 32: Person("bob"),
        "c" * 32: Person("dee", "broad"),
        "e" * 32: Person("eve"),
    }
    assert found.remember == {"b" * 32, "c" * 32, "e" * 32}
    assert clean_ref(" ") == ""


def test_event_ids_are_uuid5_of_trace_span_and_kind():
    import secrets
    import uuid

    from rollout.lib.otlp_genai import OTLP_NAMESPACE

    for kind in ("invocation", "error"):
        for _ in range(200):
            trace, span_id = secrets.token_hex(16), secrets.token_hex(8)
            made = event_id(trace, span_id, kind)
            expected = uuid.uuid5(OTLP_NAMESPACE, f"{trace}:{span_id}:{kind}")
            assert made == expected and str(made) == str(expected) and hash(made) == hash(expected)
            assert (made.version, made.variant) == (5, uuid.RFC_4122)
            assert made.is_safe == expected.is_safe
    assert event_id("", "", "invocation") == uuid.uuid5(OTLP_NAMESPACE, "::invocation")


def test_a_person_reference_is_cleaned_the_same_however_long():
    from rollout.lib.otlp_genai import MAX_USER_REF, clean_ref

    assert clean_ref("  mia@example.com ") == "mia@example.com"
    assert clean_ref(" " * 2000 + "mia@example.com") == "mia@example.com"
    assert clean_ref("a" * MAX_USER_REF) == "a" * MAX_USER_REF
    assert clean_ref("a" * (MAX_USER_REF + 1)) == ""
    assert clean_ref("a" * 5000) == ""
    assert clean_ref("mia\n") == "mia" and clean_ref("m\nia") == "" and clean_ref(7) == ""
