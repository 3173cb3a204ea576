"""POST /api/v1/events: a batch of usage events from the integration (PRODUCT.md rule 7).

The envelope is checked first (a JSON object with an `events` list of 1 to 1,000 items); then every
item is validated on its own, before anything is written. Invalid items are reported by index and
field and not stored; the valid ones are stored, once each (idempotent on `event_id`). A batch in
which no item is valid answers 400; otherwise 200 with the counts and the per-item errors.

The body is parsed here rather than by ninja's schema binding, because ninja would reject the whole
batch for one bad item; the OpenAPI schema still documents the item's shape exactly.
"""

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    with_config,
)

from core.text import has_line_breaks_or_controls
from rollout.api.base import json_response
from rollout.api.checks import (
    MAX_AGE,
    MAX_FUTURE,
    MSG_CONTROL,
    MSG_NAIVE,
    MSG_NON_FINITE,
    ApiHttpRequest,
    UnreadableBody,
    check_reported_time,
    clean_user_ref,
    error_message,
    has_control_characters,
    non_finite_fields,
    read_json,
    require_iso_text,
)
from rollout.api.errors import ErrorOut, ValidationErrorOut, json_error
from rollout.lib.cost_attrs import cost_attrs_error, reports_cost
from rollout.lib.flat_json import flat_json
from rollout.lib.freshness import as_of_text
from rollout.lib.output_sampling import output_problem
from rollout.models import INPUT_KINDS, NOT_USAGE_KINDS, EventKind
from rollout.selectors.outcome_metrics import outcome_metric_names
from rollout.selectors.retention import RetentionCutoffs, retention_cutoffs
from rollout.selectors.source_health import data_source_keys
from rollout.selectors.workflows import workflow_is_retired
from rollout.services.usage_ingest import EventData, usage_events_store

MSG_RETIRED = (
    "This workflow is retired and takes no new events. Stop sending them, or ask an ops leader "
    "to reinstate it."
)

router = Router()

MAX_EVENTS = 1000
MAX_ATTRS = 20
MAX_ATTRS_BYTES = 2048
MAX_LATENCY_MS = 24 * 60 * 60 * 1000

MSG_ENVELOPE = 'Send a JSON object: {"events": [ … up to 1,000 events … ]}.'
MSG_EMPTY = "The batch is empty: send at least one event."
MSG_TOO_MANY = f"A batch holds at most {MAX_EVENTS:,} events; send the rest in another batch."
MSG_NONE_VALID = "No event in the batch is valid; nothing was stored. See errors."
MSG_ATTRS_SIZE = f"attrs is limited to {MAX_ATTRS} keys and {MAX_ATTRS_BYTES:,} bytes of JSON."
MSG_ATTRS_VALUES = "attrs values must be strings, numbers, true/false or null (no nesting)."
MSG_PAST_RETENTION = (
    "This is older than the {months} months raw usage events are kept (the organisation's "
    "settings): it would not be counted."
)

MSG_NO_SOURCE = (
    "Name the data source: attrs.source is required for input_ok, input_rejected and "
    "input_stale events (its key, shown on the plan page)."
)
MSG_UNKNOWN_SOURCE = (
    "Unknown data source “{key}”: attrs.source must be the key of one of this workflow's data "
    "sources (shown on the plan page)."
)
MSG_VALUE_REQUIRED = "An outcome event needs a numeric value: the outcome of this case."
MSG_VALUE_ONLY_OUTCOME = "Only outcome events carry a value; report other numbers in attrs."
MSG_VALUE_TOO_LARGE = "The value is too large: send a finite number a double can hold."
MSG_NO_METRIC = (
    "Name the outcome: attrs.metric is required for outcome events (a metric the owner "
    "declared on the workflow's usage page)."
)
MSG_UNKNOWN_METRIC = (
    "Unknown outcome metric “{name}”: attrs.metric must name one of this workflow's declared, "
    "not archived, outcome metrics."
)
MSG_DATA_AS_OF = (
    "attrs.data_as_of must be an ISO 8601 time with its time zone, e.g. 2026-11-30T14:05:00Z."
)


def clean_data_as_of(value: Any) -> str | None:
    """attrs.data_as_of as stored: UTC ISO 8601 text of one shape (the rollup compares them as
    text, rollout.services.source_rollup), or None when it is not a time with a zone."""
    if type(value) is not str:  # noqa: E721 — exact type
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None or "T" not in value.upper():
        return None
    return as_of_text(moment)


def clean_input_attrs(attrs: dict[str, Any], source_keys: frozenset[str] | None) -> dict[str, Any]:
    """The attrs of an input_* event with data_as_of normalised; ValueError naming what is wrong."""
    key = attrs.get("source")
    if type(key) is not str or not key.strip():  # noqa: E721 — exact type
        raise ValueError(MSG_NO_SOURCE)
    if key not in (source_keys or ()):
        raise ValueError(MSG_UNKNOWN_SOURCE.format(key=key[:60]))
    if "data_as_of" not in attrs or attrs["data_as_of"] is None:
        return attrs
    as_of = clean_data_as_of(attrs["data_as_of"])
    if as_of is None:
        raise ValueError(MSG_DATA_AS_OF)
    return {**attrs, "data_as_of": as_of}


def clean_outcome_metric(attrs: dict[str, Any], metric_names: frozenset[str] | None) -> None:
    """Raise ValueError unless attrs.metric names a declared, not archived, outcome metric."""
    name = attrs.get("metric")
    if type(name) is not str or not name.strip():  # noqa: E721 — exact type
        raise ValueError(MSG_NO_METRIC)
    if name not in (metric_names or ()):
        raise ValueError(MSG_UNKNOWN_METRIC.format(name=name[:60]))


def finite_value(value: Any) -> float | None:
    """A JSON number as a finite float, or None (a bool, a text, an int beyond a double)."""
    if type(value) is bool or not isinstance(value, int | float):  # noqa: E721 — exact type
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# Plain texts: a sent kind may be anything JSON holds (a list is unhashable, `in` a set fails).
_INPUT_KIND_TEXTS = tuple(str(kind) for kind in INPUT_KINDS)
_OUTCOME = str(EventKind.OUTCOME)


# Built from the enum, so the API cannot drift from it; pydantic documents a Literal as an inline
# enum of strings and reports a wrong value as a literal_error (see _item_errors).
KindValue = Literal[tuple(EventKind.values)]


class EventIn(BaseModel):
    """One usage event."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(description="A UUID per event: the idempotency key.")
    # Before user_ref and attrs: their rules depend on it (validators see the fields before them).
    kind: KindValue = Field(
        description="invocation, accepted, edited, overridden, error, fallback, agreed, "
        "disagreed; and for a data source's health input_ok, input_rejected, input_stale "
        "(attrs.source = the source's key; optional attrs.data_as_of, attrs.reason); and "
        "outcome (attrs.metric = a declared outcome metric's name, with `value`)."
    )
    user_ref: str = Field(
        default="",
        max_length=254,
        validate_default=True,
        description="The person: email (any case) or external id. Required, except for the "
        "input_* kinds.",
    )
    occurred_at: datetime = Field(description="When it happened, ISO 8601 with a time zone.")
    latency_ms: Annotated[StrictInt, Field(ge=0, le=MAX_LATENCY_MS)] | None = Field(
        default=None, description="How long the AI took, in whole milliseconds."
    )
    value: StrictInt | StrictFloat | None = Field(
        default=None,
        validate_default=True,
        description="Outcome events only, and required on them: the case's outcome in the "
        "metric's unit (e.g. 312 for a handle time of 312 s). A finite number.",
    )
    attrs: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        max_length=MAX_ATTRS,
        validate_default=True,
        description="A small flat object: channel, record, … (≤ 20 keys, ≤ 2 KiB). "
        "`model_version` and `prompt_version` say which AI produced the output: Rollout compares "
        "them with the declared configuration and flags an unannounced change. "
        "input_* events: `source` (required: the data source's key), `data_as_of` (ISO 8601 "
        "with a time zone: when the input data was produced), `reason` (why it was rejected). "
        "Cost: `input_tokens` and `output_tokens` (whole numbers, 0 to 100,000,000) and/or "
        "`cost` (a number, 0 to 1,000,000, in the organisation's currency); without `cost`, "
        "tokens are priced with the owner's price for the event's model version. "
        "outcome events: `metric` (required: a declared outcome metric's name). "
        "invocation events: `output` (the AI's output, ≤ 1,000 characters or an https:// link) "
        "for an event picked for review — never stored with the event; see the endpoint.",
    )

    @field_validator("user_ref")
    @classmethod
    def _user_ref(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") in INPUT_KINDS and not value.strip():
            return ""  # a data source's report is nobody's
        return clean_user_ref(value)

    @field_validator("value")
    @classmethod
    def _value(cls, value: float | None, info: ValidationInfo) -> float | None:
        if info.data.get("kind") != EventKind.OUTCOME:
            if value is not None:
                raise ValueError(MSG_VALUE_ONLY_OUTCOME)
            return None
        if value is None:
            raise ValueError(MSG_VALUE_REQUIRED)
        number = finite_value(value)
        if number is None:
            raise ValueError(MSG_VALUE_TOO_LARGE)
        return number

    @field_validator("attrs")
    @classmethod
    def _cost_attrs(cls, value: dict[str, Any]) -> dict[str, Any]:
        message = cost_attrs_error(value)
        if message is not None:
            raise ValueError(message)
        return value

    @field_validator("attrs")
    @classmethod
    def _input_attrs(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if info.data.get("kind") == EventKind.OUTCOME:
            clean_outcome_metric(value, (info.context or {}).get("metric_names"))
            return value
        if info.data.get("kind") not in INPUT_KINDS:
            return value
        return clean_input_attrs(value, (info.context or {}).get("source_keys"))

    @field_validator("attrs")
    @classmethod
    def _output(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "output" in value and (
            problem := output_problem(info.data.get("kind"), value["output"])
        ):
            raise ValueError(problem)
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at_text(cls, value: Any) -> Any:
        if value is None:  # required here, unlike feedback's optional time
            raise ValueError(MSG_NAIVE)
        return require_iso_text(value)

    @field_validator("occurred_at")
    @classmethod
    def _occurred_at(cls, value: datetime, info: ValidationInfo) -> datetime:
        value = check_reported_time(value)
        retention = (info.context or {}).get("retention")
        if retention is not None and value < retention.usage_events:
            raise ValueError(MSG_PAST_RETENTION.format(months=retention.usage_events_months))
        return value

    @field_validator("attrs", mode="before")
    @classmethod
    def _attrs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            # flat_json remembers the text of the same attrs, which most events of a batch share.
            if len(value) > MAX_ATTRS or len(flat_json(_stored(value))) > MAX_ATTRS_BYTES:
                raise ValueError(MSG_ATTRS_SIZE)
            if any(isinstance(v, dict | list) for v in value.values()):
                raise ValueError(MSG_ATTRS_VALUES)
            # PostgreSQL's jsonb refuses \u0000; other control characters are refused with it.
            texts = [*value.keys(), *(v for v in value.values() if isinstance(v, str))]
            if any(has_control_characters(str(t)) for t in texts):
                raise ValueError(MSG_CONTROL)
        return value


class EventBatchIn(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class ItemErrorOut(BaseModel):
    index: int
    field: str
    message: str


class IngestOut(BaseModel):
    accepted: int = Field(description="New events stored.")
    duplicate: int = Field(description="Events already stored before (or twice in this batch).")
    rejected: int = Field(description="Invalid events, not stored; see errors.")
    errors: list[ItemErrorOut]


class IngestErrorOut(ValidationErrorOut):
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0


def _item_errors(index: int, exc: ValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        field = loc[0] if loc else ""
        if field == "kind" and error.get("type") == "literal_error":
            message = f"Unknown kind. Use one of: {', '.join(EventKind.values)}."
        elif field == "attrs" and len(loc) > 1:
            message = MSG_ATTRS_VALUES
        else:
            message = error_message(error)
        errors.append({"index": index, "field": field, "message": message})
    return errors


def _envelope_error(request: HttpRequest, detail: str, field: str = "events") -> HttpResponse:
    body = {"detail": detail, "errors": [{"field": field, "message": detail}]}
    return json_response(request, body, status=400)


@with_config(ConfigDict(extra="forbid"))
class _Checked(TypedDict):
    """EventIn's types and bounds, all checked inside pydantic-core (no Python per event)."""

    event_id: uuid.UUID
    user_ref: NotRequired[Annotated[str, StringConstraints(max_length=254)]]
    kind: KindValue
    occurred_at: AwareDatetime
    latency_ms: NotRequired[Annotated[StrictInt, Field(ge=0, le=MAX_LATENCY_MS)] | None]
    value: NotRequired[StrictInt | StrictFloat | None]
    attrs: NotRequired[
        Annotated[dict[str, str | int | float | bool | None], Field(max_length=MAX_ATTRS)]
    ]


_CHECKED_BATCH = TypeAdapter(list[_Checked])


def time_window(
    retention: RetentionCutoffs | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The earliest and latest `occurred_at` an event may have now: MAX_AGE ago, or when raw
    events stop being kept if that is later, to MAX_FUTURE ahead."""
    now = now or datetime.now(UTC)
    earliest = now - MAX_AGE
    if retention is not None:
        earliest = max(earliest, retention.usage_events)
    return earliest, now + MAX_FUTURE


def _validate(
    items: list[Any],
    *,
    non_finite_anywhere: bool,
    retention: RetentionCutoffs | None = None,
    source_keys: frozenset[str] | None = None,
    metric_names: frozenset[str] | None = None,
) -> tuple[list[EventData], list[dict[str, Any]]]:
    """The valid events of a batch, in their order, and the errors of the others by index.

    EventIn is the contract and says what is wrong with an item; asking it per item cost more
    than storing the batch (its Python validators run per event). So the batch is first checked
    in one pydantic-core call (_Checked: the same types and bounds) and the rest of EventIn's
    rules run as a few comparisons per event here. An item that fails any of it, and every item
    of a body holding a non-finite number, is then validated by EventIn itself: this first pass
    only ever refuses more than EventIn, never less (tests/rollout/api/test_events_fast_path.py
    compares the two on every rule), so the answer is EventIn's.
    """
    indexes = range(len(items))
    if non_finite_anywhere:
        valid, errors = _validate_each(items, indexes, retention, source_keys, metric_names)
        return [event for _, event in valid], errors
    refused = {
        index
        for index in indexes
        if type(items[index]) is not dict  # noqa: E721 — exact type
    }
    passed = [i for i in indexes if i not in refused]
    try:
        checked = _CHECKED_BATCH.validate_python([items[i] for i in passed])
    except ValidationError as exc:
        refused.update(passed[error["loc"][0]] for error in exc.errors(include_url=False))
        passed = [i for i in indexes if i not in refused]
        checked = _CHECKED_BATCH.validate_python([items[i] for i in passed])
    earliest, latest = time_window(retention)
    attrs_ok: dict[str, bool] = {}  # by JSON text: most events of a batch share their attrs
    fast: list[tuple[int, EventData]] = []
    for index, event in zip(passed, checked, strict=True):
        user_ref = event.get("user_ref", "").strip()
        attrs = event.get("attrs") or {}
        value = event.get("value")
        if event["kind"] == _OUTCOME:
            value = finite_value(value)
            if value is None or not _metric_ok(attrs, metric_names):
                refused.add(index)
                continue
        elif value is not None:
            refused.add(index)
            continue
        if event["kind"] in INPUT_KINDS:
            try:
                attrs = clean_input_attrs(attrs, source_keys)
            except ValueError:
                refused.add(index)
                continue
        elif not user_ref:
            refused.add(index)
            continue
        if (
            (user_ref and has_line_breaks_or_controls(user_ref))
            or not earliest <= event["occurred_at"] <= latest
            or type(items[index]["occurred_at"]) is not str  # noqa: E721 — a number is no time
            or (attrs and not _attrs_ok(_stored(attrs), attrs_ok))
            # Three key lookups for attrs without cost; the check itself only for the others.
            or (attrs and reports_cost(attrs) and cost_attrs_error(attrs) is not None)
            or ("output" in attrs and output_problem(event["kind"], attrs["output"]))
        ):
            refused.add(index)
            continue
        fast.append(
            (
                index,
                EventData(
                    event_id=event["event_id"],
                    user_ref=user_ref,
                    kind=event["kind"],
                    occurred_at=event["occurred_at"],
                    latency_ms=event.get("latency_ms"),
                    attrs=attrs,
                    value=value,
                ),
            )
        )
    if not refused:
        return [event for _, event in fast], []
    slow, errors = _validate_each(items, sorted(refused), retention, source_keys, metric_names)
    merged = sorted([*fast, *slow], key=lambda pair: pair[0])
    return [event for _, event in merged], errors


# The whole-body fast path (`_plainly_valid_batch`): a batch of usage events only (no input_*
# or outcome kinds, no `value`), read and type-checked from its JSON text in one pydantic-core
# call, strictly (a JSON number is no time, 1.0 no whole number).
UsageKindValue = Literal[tuple(k for k in EventKind.values if k not in NOT_USAGE_KINDS)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


@with_config(ConfigDict(extra="forbid", strict=True))
class _PlainUsage(TypedDict):
    event_id: uuid.UUID
    user_ref: Annotated[str, StringConstraints(max_length=254)]
    kind: UsageKindValue
    occurred_at: AwareDatetime
    latency_ms: NotRequired[Annotated[int, Field(ge=0, le=MAX_LATENCY_MS)] | None]
    attrs: NotRequired[
        Annotated[dict[str, str | int | FiniteFloat | bool | None], Field(max_length=MAX_ATTRS)]
    ]


@with_config(ConfigDict(extra="forbid", strict=True))
class _PlainBatch(TypedDict):
    events: Annotated[list[_PlainUsage], Field(min_length=1, max_length=MAX_EVENTS)]


_PLAIN_BATCH = TypeAdapter(_PlainBatch)


def _plainly_valid_batch(
    body: bytes, retention: RetentionCutoffs | None = None
) -> list[EventData] | None:
    """The events of a body in which every item is a plainly valid usage event, or None.

    Most batches are that: the integration's own usage events, all valid. For them, reading the
    JSON (json.loads), checking each item's types (`_validate`'s first pass) and walking the
    result cost more than storing the batch; here the JSON text is read and type-checked in one
    pydantic-core call, then `_validate`'s per-event comparisons run on what it made. Anything
    else — a body that is not UTF-8 JSON of that exact shape, an item with an input_* or outcome
    kind, a `value`, an `attrs.output` or cost attrs, or any item `_validate` would refuse —
    answers None, and the request goes the general way (read_json, then `_validate`), which
    says what is wrong. What this accepts it turns into the very events `_validate` makes of
    the same body (tests/rollout/api/test_events_fast_path.py compares the two on every rule).
    """
    try:
        items = _PLAIN_BATCH.validate_json(body)["events"]
    except ValidationError:
        return None
    earliest, latest = time_window(retention)
    refs: dict[str, str | None] = {}  # as sent → as stored (None: refused); people repeat
    # By JSON text, the first attrs of that text: most events of a batch share their attrs, so
    # they are checked once and the events share one object (stored once: usage_events_store).
    shared: dict[str, dict[str, Any]] = {"{}": {}}
    events = []
    for item in items:
        sent = item["user_ref"]
        user_ref = refs.get(sent, "")
        if user_ref == "":
            stripped = sent.strip()
            user_ref = refs[sent] = (
                stripped if stripped and not has_line_breaks_or_controls(stripped) else None
            )
        if user_ref is None or not earliest <= item["occurred_at"] <= latest:
            return None
        attrs = item.get("attrs") or {}
        text = flat_json(attrs)
        first = shared.get(text)
        if first is None:
            if "output" in attrs or reports_cost(attrs) or not _attrs_ok(attrs, {}):
                return None
            first = shared[text] = attrs
        events.append(
            EventData(
                item["event_id"],
                user_ref,
                item["kind"],
                item["occurred_at"],
                item.get("latency_ms"),
                first,
            )
        )
    return events


def _metric_ok(attrs: dict[str, Any], metric_names: frozenset[str] | None) -> bool:
    try:
        clean_outcome_metric(attrs, metric_names)
    except ValueError:
        return False
    return True


def _stored(attrs: dict[str, Any]) -> dict[str, Any]:
    """attrs as stored: without `output` (never kept with the event, so not in its 2 KiB; its own
    limit is checked by output_problem)."""
    if "output" not in attrs:
        return attrs
    return {k: v for k, v in attrs.items() if k != "output"}


def _attrs_ok(attrs: dict[str, Any], known: dict[str, bool]) -> bool:
    text = flat_json(attrs)
    if text not in known:
        strings = [*attrs, *(v for v in attrs.values() if isinstance(v, str))]
        known[text] = len(text) <= MAX_ATTRS_BYTES and not any(
            has_control_characters(s) for s in strings
        )
    return known[text]


def _validate_each(
    items: list[Any],
    indexes: Iterable[int],
    retention: RetentionCutoffs | None = None,
    source_keys: frozenset[str] | None = None,
    metric_names: frozenset[str] | None = None,
) -> tuple[list[tuple[int, EventData]], list[dict[str, Any]]]:
    """Items validated one by one by EventIn: (index, event) of the valid ones, and the errors."""
    valid: list[tuple[int, EventData]] = []
    errors: list[dict[str, Any]] = []
    for index in indexes:
        item = items[index]
        if not isinstance(item, dict):
            errors.append({"index": index, "field": "", "message": "An event is a JSON object."})
            continue
        non_finite = non_finite_fields(item)
        if non_finite:
            errors.extend(
                {"index": index, "field": field, "message": MSG_NON_FINITE} for field in non_finite
            )
            continue
        try:
            context = {
                "retention": retention,
                "source_keys": source_keys,
                "metric_names": metric_names,
            }
            event = EventIn.model_validate(item, context=context)
        except ValidationError as exc:
            errors.extend(_item_errors(index, exc))
            continue
        valid.append(
            (
                index,
                EventData(
                    event_id=event.event_id,
                    user_ref=event.user_ref,
                    kind=event.kind,
                    occurred_at=event.occurred_at,
                    latency_ms=event.latency_ms,
                    attrs=event.attrs,
                    value=event.value,
                ),
            )
        )
    return valid, errors


_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": EventBatchIn.model_json_schema()}},
}


@router.post(
    "/events",
    response={200: IngestOut, 400: IngestErrorOut, 410: ErrorOut},
    summary="Report a batch of usage events",
    operation_id="events",
    url_name="events",
    openapi_extra={"requestBody": _REQUEST_BODY},
)
def events(request: ApiHttpRequest) -> HttpResponse:
    """Up to 1,000 events. Idempotent on `event_id`: a batch sent twice counts once. Each item
    is validated on its own; invalid ones are reported by index and not stored, valid ones are.

    Rules beyond the schema, reported per item (a 400 when no item is valid): `occurred_at` at
    most 400 days ago and no older than raw events are kept (13 months unless the organisation
    says otherwise), and at most an hour ahead; `attrs` at most 2 KiB of JSON, with no control
    characters; numbers finite (no NaN, Infinity or 1e999); `user_ref` not blank and without
    control characters; `attrs.input_tokens` and `attrs.output_tokens`, when given, whole numbers
    from 0 to 100,000,000, and `attrs.cost` a number from 0 to 1,000,000 (the organisation's
    currency).

    Data-source health: the kinds `input_ok`, `input_rejected` and `input_stale` report on one of
    the workflow's data sources, named by `attrs.source` (its key; an unknown key is an error of
    that item). `attrs.data_as_of`, if given, is an ISO 8601 time with its zone; `user_ref` is
    optional for them. They never count as activity, invocations or quality. A retired workflow
    answers 410 and stores nothing.

    Outcomes: the kind `outcome` reports one case's outcome, AI or not: `attrs.metric` names an
    outcome metric the owner declared (an unknown or archived one is an error of that item) and
    the top-level `value` (a finite number) is required; `value` on any other kind is an error.
    Each is stamped with the arm (AI or holdout) its person was in at `occurred_at`. They never
    count as activity, invocations or quality.

    Sampled review (a cohort whose decision answer says `review_level` "sample"): an `invocation`
    event may carry `attrs.output`, the AI's output (at most 1,000 characters, or an https://
    link; anything else is an error of that item; on other kinds too). It is picked when
    `int(sha256(str(event_id)).hexdigest()[:8], 16) % 10000 < review_sample_rate * 100`
    (`str(event_id)`: the UUID's lowercase text with hyphens), so send it only then. Rollout never
    stores it with the event: a picked output goes to the workflow's review queue, any other is
    dropped."""
    # Asked of the database, not the token's (memoised) workflow: retiring must stop events at once.
    if workflow_is_retired(request.auth.workflow_id):
        return json_error(410, MSG_RETIRED)
    body = request.body or b"null"
    workflow_id = request.auth.workflow_id
    retention = retention_cutoffs()
    plain = _plainly_valid_batch(body, retention)
    if plain is not None:
        result = usage_events_store(workflow=request.auth.workflow, events=plain)
        counts = {"accepted": result.accepted, "duplicate": result.duplicate, "rejected": 0}
        return json_response(request, {**counts, "errors": []}, status=200)
    try:
        payload, non_finite_anywhere = read_json(body)
    except UnreadableBody as exc:
        return _envelope_error(request, exc.message, field="")
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return _envelope_error(request, MSG_ENVELOPE)
    unknown = sorted(set(payload) - {"events"})
    if unknown:
        return _envelope_error(request, f"Unknown field: {unknown[0]}.", field=unknown[0][:100])
    items = payload["events"]
    if not items:
        return _envelope_error(request, MSG_EMPTY)
    if len(items) > MAX_EVENTS:
        return _envelope_error(request, MSG_TOO_MANY)

    # One query, and only for a batch reporting on data sources.
    reports_sources = any(
        isinstance(item, dict) and item.get("kind") in _INPUT_KIND_TEXTS for item in items
    )
    # The same for a batch reporting outcomes.
    reports_outcomes = any(
        isinstance(item, dict) and item.get("kind") == _OUTCOME for item in items
    )
    valid, errors = _validate(
        items,
        non_finite_anywhere=non_finite_anywhere,
        retention=retention,
        source_keys=data_source_keys(workflow_id) if reports_sources else None,
        metric_names=outcome_metric_names(workflow_id) if reports_outcomes else None,
    )
    rejected = len(items) - len(valid)
    if not valid:
        body = {"detail": MSG_NONE_VALID, "errors": errors, "rejected": rejected}
        return json_response(request, {**body, "accepted": 0, "duplicate": 0}, status=400)
    result = usage_events_store(workflow=request.auth.workflow, events=valid)
    body = {
        "accepted": result.accepted,
        "duplicate": result.duplicate,
        "rejected": rejected,
        "errors": errors,
    }
    return json_response(request, body, status=200)
