"""The events API's batch check (rollout.api.events._validate) answers exactly as EventIn, the
contract, does item by item: same valid events, same errors, whatever the mix of a batch."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rollout.api.checks import MSG_BLANK_USER, UnreadableBody, read_json
from rollout.api.events import (
    MSG_DATA_AS_OF,
    MSG_NO_SOURCE,
    MSG_UNKNOWN_SOURCE,
    _plainly_valid_batch,
    _validate,
    _validate_each,
)

NOW = datetime.now(UTC)


def _event(**changes):
    event = {
        "event_id": str(uuid.uuid4()),
        "user_ref": "agent@example.com",
        "kind": "invocation",
        "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
        "latency_ms": 420,
        "attrs": {"model_version": "2026-09", "channel": "email"},
    }
    for name, value in changes.items():
        if value is _DROP:
            event.pop(name)
        else:
            event[name] = value
    return event


_DROP = object()

# Every rule of EventIn, on each side of its edge.
CASES = {
    "plain": {},
    "no latency": {"latency_ms": _DROP},
    "latency null": {"latency_ms": None},
    "no attrs": {"attrs": _DROP},
    "empty attrs": {"attrs": {}},
    "unknown field": {"colour": "blue"},
    "event_id not a uuid": {"event_id": "abc"},
    "event_id missing": {"event_id": _DROP},
    "event_id a number": {"event_id": 7},
    "user_ref padded": {"user_ref": "  agent@example.com  "},
    "user_ref blank": {"user_ref": "   "},
    "user_ref empty": {"user_ref": ""},
    "user_ref 254": {"user_ref": "a" * 254},
    "user_ref 255": {"user_ref": "a" * 255},
    "user_ref padded to 255": {"user_ref": " " + "a" * 253 + " "},
    "user_ref line break": {"user_ref": "agent\n@example.com"},
    "user_ref tab": {"user_ref": "agent\t@example.com"},
    "user_ref NUL": {"user_ref": "agent\x00"},
    "user_ref a number": {"user_ref": 42},
    "kind unknown": {"kind": "clicked"},
    "kind other case": {"kind": "Invocation"},
    "occurred_at naive": {"occurred_at": "2026-12-06T10:00:00"},
    "occurred_at a date": {"occurred_at": "2026-12-06"},
    "occurred_at a number": {"occurred_at": 1764000000},
    "occurred_at null": {"occurred_at": None},
    "occurred_at missing": {"occurred_at": _DROP},
    "occurred_at garbage": {"occurred_at": "yesterday"},
    "occurred_at offset": {
        "occurred_at": (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    },
    "occurred_at 59 min ahead": {"occurred_at": (NOW + timedelta(minutes=59)).isoformat()},
    "occurred_at 61 min ahead": {"occurred_at": (NOW + timedelta(minutes=61)).isoformat()},
    "occurred_at 399 days ago": {"occurred_at": (NOW - timedelta(days=399)).isoformat()},
    "occurred_at 401 days ago": {"occurred_at": (NOW - timedelta(days=401)).isoformat()},
    "latency negative": {"latency_ms": -1},
    "latency a float": {"latency_ms": 1.5},
    "latency a whole float": {"latency_ms": 2.0},
    "latency true": {"latency_ms": True},
    "latency text": {"latency_ms": "12"},
    "latency a day": {"latency_ms": 24 * 60 * 60 * 1000},
    "latency over a day": {"latency_ms": 24 * 60 * 60 * 1000 + 1},
    "attrs nested object": {"attrs": {"a": {"b": 1}}},
    "attrs nested list": {"attrs": {"a": [1]}},
    "attrs a list": {"attrs": [1, 2]},
    "attrs text": {"attrs": "x"},
    "attrs 20 keys": {"attrs": {f"k{i}": i for i in range(20)}},
    "attrs 21 keys": {"attrs": {f"k{i}": i for i in range(21)}},
    "attrs at 2 KiB": {"attrs": {"t": "x" * (2048 - len('{"t": ""}'))}},
    "attrs over 2 KiB": {"attrs": {"t": "x" * (2049 - len('{"t": ""}'))}},
    "attrs NUL in value": {"attrs": {"t": "a\x00b"}},
    "attrs NUL in key": {"attrs": {"a\x00": "b"}},
    "attrs form feed": {"attrs": {"t": "a\x0cb"}},
    "attrs tab and line break": {"attrs": {"t": "a\tb\nc"}},
    "attrs scalars": {"attrs": {"n": None, "b": False, "i": 3, "f": 0.25, "s": "é"}},
}


KEYS = frozenset({"crm-export", "ticket-history"})


def _input(**changes):
    base = {"kind": "input_ok", "user_ref": _DROP, "attrs": {"source": "crm-export"}}
    return _event(**{**base, **changes})


# The data-source kinds' rules (attrs.source, attrs.data_as_of, an optional user_ref).
INPUT_CASES = {
    "input ok": {},
    "input rejected with reason": {
        "kind": "input_rejected",
        "attrs": {"source": "crm-export", "reason": "missing account id"},
    },
    "input stale": {"kind": "input_stale"},
    "input with a person": {"user_ref": "agent@example.com"},
    "input with a blank person": {"user_ref": "   "},
    "input with a person and a NUL": {"user_ref": "agent\x00"},
    "input without attrs": {"attrs": _DROP},
    "input without source": {"attrs": {"reason": "x"}},
    "input source blank": {"attrs": {"source": " "}},
    "input source a number": {"attrs": {"source": 7}},
    "input source unknown": {"attrs": {"source": "erp"}},
    "input source other case": {"attrs": {"source": "CRM-export"}},
    "input data_as_of utc": {
        "attrs": {"source": "crm-export", "data_as_of": "2026-12-01T10:00:00Z"}
    },
    "input data_as_of offset": {
        "attrs": {"source": "crm-export", "data_as_of": "2026-12-01T10:00:00.5+02:00"}
    },
    "input data_as_of null": {"attrs": {"source": "crm-export", "data_as_of": None}},
    "input data_as_of naive": {
        "attrs": {"source": "crm-export", "data_as_of": "2026-12-01T10:00:00"}
    },
    "input data_as_of a date": {"attrs": {"source": "crm-export", "data_as_of": "2026-12-01"}},
    "input data_as_of a number": {"attrs": {"source": "crm-export", "data_as_of": 1764000000}},
    "input data_as_of garbage": {"attrs": {"source": "crm-export", "data_as_of": "last week"}},
    "input attrs nested": {"attrs": {"source": "crm-export", "x": [1]}},
    "invocation without user_ref": {"kind": "invocation"},
    "invocation naming a source": {"kind": "invocation", "user_ref": "a@example.com"},
}


def _both(items, source_keys=None):
    ours = _validate(items, non_finite_anywhere=False, source_keys=source_keys)
    pairs, errors = _validate_each(items, range(len(items)), None, source_keys)
    return ours, ([event for _, event in pairs], errors)


@pytest.mark.parametrize("name", INPUT_CASES)
def test_one_input_item_answers_as_event_in(name):
    ours, reference = _both([_input(**INPUT_CASES[name])], KEYS)
    assert ours == reference


def test_input_items_without_known_sources_answer_as_event_in():
    items = [_input(**changes) for changes in INPUT_CASES.values()]
    ours, reference = _both(items)
    assert ours == reference
    valid, errors = ours
    assert [e.kind for e in valid] == ["invocation"]  # every input event names an unknown source


def test_a_mixed_batch_with_input_kinds_answers_as_event_in():
    items = [_event(**c) for c in CASES.values()] + [_input(**c) for c in INPUT_CASES.values()]
    ours, reference = _both(items * 2, KEYS)
    assert ours == reference


def test_input_rules_in_words():
    valid, errors = _validate(
        [
            _input(),
            _input(attrs={"reason": "x"}),
            _input(attrs={"source": "erp"}),
            _input(attrs={"source": "crm-export", "data_as_of": "2026-12-01T10:00:00"}),
            _input(kind="invocation"),
        ],
        non_finite_anywhere=False,
        source_keys=KEYS,
    )
    assert [(e.kind, e.user_ref) for e in valid] == [("input_ok", "")]
    assert errors == [
        {"index": 1, "field": "attrs", "message": MSG_NO_SOURCE},
        {"index": 2, "field": "attrs", "message": MSG_UNKNOWN_SOURCE.format(key="erp")},
        {"index": 3, "field": "attrs", "message": MSG_DATA_AS_OF},
        {"index": 4, "field": "user_ref", "message": MSG_BLANK_USER},
    ]


def test_data_as_of_is_stored_as_utc_text_of_one_shape():
    attrs = {"source": "crm-export", "data_as_of": "2026-12-01T12:00:00.5+02:00"}
    (event,), errors = _validate([_input(attrs=attrs)], non_finite_anywhere=False, source_keys=KEYS)
    assert errors == []
    assert event.attrs == {"source": "crm-export", "data_as_of": "2026-12-01T10:00:00.500000+00:00"}


@pytest.mark.parametrize("name", CASES)
def test_one_item_answers_as_event_in(name):
    ours, reference = _both([_event(**CASES[name])])
    assert ours == reference


def test_a_mixed_batch_answers_as_event_in_in_item_order():
    items = [_event(**changes) for changes in CASES.values()] * 2
    items.insert(3, "not an object")
    items.insert(7, None)
    ours, reference = _both(items)
    assert ours == reference
    valid, errors = ours
    assert len(valid) > 10
    assert errors
    assert [e["index"] for e in errors] == sorted(e["index"] for e in errors)


def test_a_batch_of_valid_events_keeps_their_order_and_values():
    items = [_event(user_ref=f" person{i}@example.com ") for i in range(50)]
    valid, errors = _validate(items, non_finite_anywhere=False)
    assert errors == []
    assert [str(e.event_id) for e in valid] == [i["event_id"] for i in items]
    assert valid[7].user_ref == "person7@example.com"
    assert valid[7].attrs == {"model_version": "2026-09", "channel": "email"}


def test_a_body_with_a_non_finite_number_is_checked_item_by_item():
    body = json.dumps({"events": [_event(), _event()]})
    body = body.replace('"latency_ms": 420', '"latency_ms": NaN', 1).encode()
    payload, non_finite = read_json(body)
    assert non_finite
    valid, errors = _validate(payload["events"], non_finite_anywhere=True)
    assert len(valid) == 1
    assert errors == [
        {"index": 0, "field": "latency_ms", "message": errors[0]["message"]},
    ]
    assert "finite" in errors[0]["message"]


def test_a_valid_batch_never_asks_event_in_item_by_item(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validated item by item")

    monkeypatch.setattr("rollout.api.events.EventIn.model_validate", refuse)
    valid, errors = _validate([_event() for _ in range(20)], non_finite_anywhere=False)
    assert (len(valid), errors) == (20, [])


def test_the_retention_cutoff_answers_as_event_in(db):
    from rollout.selectors.retention import retention_cutoffs

    retention = retention_cutoffs()  # 13 months by default
    items = [
        _event(occurred_at=(NOW - timedelta(days=days)).isoformat()) for days in (360, 397, 399)
    ]
    ours = _validate(items, non_finite_anywhere=False, retention=retention)
    pairs, errors = _validate_each(items, range(len(items)), retention)
    assert ours == ([event for _, event in pairs], errors)
    assert [e["index"] for e in errors] == [1, 2]
    assert "13 months" in errors[0]["message"]


METRICS = frozenset({"handle_time_s", "csat"})


def _outcome(**changes):
    changes = {
        "kind": "outcome",
        "latency_ms": _DROP,
        "attrs": {"metric": "handle_time_s"},
        "value": 312,
        **changes,
    }
    event = _event(**{k: v for k, v in changes.items() if v is not _DROP})
    for name in [k for k, v in changes.items() if v is _DROP]:
        event.pop(name, None)
    return event


# The outcome kind's rules (attrs.metric, a required finite value; value on no other kind).
OUTCOME_CASES = {
    "outcome int": {},
    "outcome float": {"value": 312.5},
    "outcome negative": {"value": -4.25},
    "outcome zero": {"value": 0},
    "outcome csat": {"attrs": {"metric": "csat"}, "value": 4},
    "outcome without value": {"value": _DROP},
    "outcome value null": {"value": None},
    "outcome value text": {"value": "312"},
    "outcome value true": {"value": True},
    "outcome value huge int": {"value": 10**400},
    "outcome value a list": {"value": [1]},
    "outcome without attrs": {"attrs": _DROP},
    "outcome metric unknown": {"attrs": {"metric": "speed"}},
    "outcome metric blank": {"attrs": {"metric": " "}},
    "outcome metric a number": {"attrs": {"metric": 7}},
    "outcome metric other case": {"attrs": {"metric": "Handle_time_s"}},
    "outcome without user_ref": {"user_ref": _DROP},
    "outcome with latency": {"latency_ms": 20},
    "invocation with value": {"kind": "invocation", "value": 3},
    "invocation value null": {"kind": "invocation", "value": None},
    "input with value": {"kind": "input_ok", "attrs": {"source": "crm-export"}, "value": 1},
}


def _both_outcomes(items, metric_names=None):
    ours = _validate(items, non_finite_anywhere=False, source_keys=KEYS, metric_names=metric_names)
    pairs, errors = _validate_each(items, range(len(items)), None, KEYS, metric_names)
    return ours, ([event for _, event in pairs], errors)


@pytest.mark.parametrize("name", OUTCOME_CASES)
def test_one_outcome_item_answers_as_event_in(name):
    ours, reference = _both_outcomes([_outcome(**OUTCOME_CASES[name])], METRICS)
    assert ours == reference


def test_a_mixed_batch_with_outcomes_answers_as_event_in():
    items = [
        *(_event(**c) for c in CASES.values()),
        *(_input(**c) for c in INPUT_CASES.values()),
        *(_outcome(**c) for c in OUTCOME_CASES.values()),
    ]
    ours, reference = _both_outcomes(items * 2, METRICS)
    assert ours == reference
    ours, reference = _both_outcomes(items)  # no metric declared
    assert ours == reference
    assert not [e for e in ours[0] if e.kind == "outcome"]


def test_outcome_values_are_floats():
    (event,), errors = _validate(
        [_outcome(value=312)], non_finite_anywhere=False, metric_names=METRICS
    )
    assert errors == [] and event.value == 312.0 and type(event.value) is float


# --- The whole-body path (_plainly_valid_batch): it answers only for bodies it can answer
# exactly as read_json + _validate do, and declines (None) the rest.


def _general(body: bytes, retention=None):
    """What the general path makes of a body: (valid events, errors), or None when the body is
    refused as a whole (not JSON, not the envelope)."""
    try:
        payload, non_finite = read_json(body)
    except UnreadableBody:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return None
    return _validate(payload["events"], non_finite_anywhere=non_finite, retention=retention)


def _agrees(body: bytes, retention=None):
    """The whole-body path's answer, after checking it against the general one."""
    plain = _plainly_valid_batch(body, retention)
    if plain is not None:
        valid, errors = _general(body, retention)
        assert errors == []
        assert plain == valid
        assert [type(e.attrs) for e in plain] == [type(e.attrs) for e in valid]
    return plain


def _body(*items) -> bytes:
    return json.dumps({"events": list(items)}).encode()


@pytest.mark.parametrize("name", [*CASES, *INPUT_CASES, *OUTCOME_CASES])
def test_one_item_through_the_whole_body_path_answers_as_the_general_one(name):
    if name in OUTCOME_CASES:
        item = _outcome(**OUTCOME_CASES[name])
    elif name in INPUT_CASES:
        item = _input(**INPUT_CASES[name])
    else:
        item = _event(**CASES[name])
    _agrees(_body(item))
    _agrees(_body(_event(), item, _event()))


def test_a_plain_batch_takes_the_whole_body_path_with_its_order_and_values():
    items = [_event(user_ref=f" person{i}@example.com ") for i in range(50)]
    items.append(_event(attrs=_DROP))
    items.append(_event(latency_ms=None))
    plain = _agrees(_body(*items))
    assert plain is not None and len(plain) == 52
    assert [str(e.event_id) for e in plain] == [i["event_id"] for i in items]
    assert plain[7].user_ref == "person7@example.com"
    assert plain[7].attrs == {"model_version": "2026-09", "channel": "email"}
    assert plain[0].attrs is plain[49].attrs  # one object per distinct attrs
    assert plain[50].attrs == {} and plain[51].latency_ms is None


def test_the_whole_body_path_declines_all_it_does_not_answer_exactly():
    declined = [
        b"",
        b"null",
        b"[]",
        b'{"events": []}',
        _body(*[_event() for _ in range(1001)]),
        json.dumps({"events": [_event()], "more": 1}).encode(),
        _body(_event(), "not an object"),
        _body(_event(value=None)),  # `value` even null: the general path says what it means
        _body(_event(attrs={"output": "a draft"})),
        _body(_event(attrs={"input_tokens": 12})),
        _body(_event(attrs={"cost": 0.5})),
        _body(_input()),
        _body(_outcome()),
        _body(_event()).replace(b"420", b"NaN"),
        _body(_event()).replace(b"420", b"1e999"),
        _body(_event(attrs={"n": 1.5})).replace(b"1.5", b"1e999"),
        _body(_event(attrs={"n": 1.5})).replace(b"1.5", b"Infinity"),
        _body(_event()).decode().encode("utf-16"),  # JSON, but not UTF-8
        b"\xef\xbb\xbf" + _body(_event()),  # a byte order mark
        _body(_event(user_ref="\ud800@example.com")),  # a lone surrogate (\ud800 in JSON)
        b'{"events": [' + b"[" * 300 + b"]" * 300 + b"]}",
    ]
    for body in declined:
        assert _agrees(body) is None, body[:80]


def test_json_numbers_and_repeated_names_read_as_the_general_path_reads_them():
    texts = ["0.1", "1e-07", "2.2250738585072014e-308", "123456789.123456789", "1E2", "-0.0",
             "12345678901234567890123", "5e-324", "0.30000000000000004"]  # fmt: skip
    for text in texts:
        body = _body(_event(attrs={"n": 1.5})).replace(b"1.5", text.encode())
        plain = _agrees(body)
        assert plain is not None, text
    item = json.dumps(_event())
    repeated = item.replace('"kind": "invocation"', '"kind": "error", "kind": "accepted"')
    plain = _agrees(b'{"events": [' + repeated.encode() + b"]}")
    assert plain is not None and plain[0].kind == "accepted"


def test_the_retention_cutoff_answers_as_the_general_path(db):
    from rollout.selectors.retention import retention_cutoffs

    retention = retention_cutoffs()
    assert _agrees(_body(_event(occurred_at=(NOW - timedelta(days=360)).isoformat())), retention)
    old = _event(occurred_at=(NOW - timedelta(days=397)).isoformat())
    assert _agrees(_body(_event(), old), retention) is None
