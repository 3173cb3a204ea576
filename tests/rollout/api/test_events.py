"""Contract of POST /api/v1/events: every status it answers, with the exact body, and that invalid
items never write anything (rule 7)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ORGANISATION_PK, Organisation
from rollout.api import MAX_BODY_BYTES
from rollout.api.auth import MSG_INVALID, MSG_MISSING
from rollout.api.checks import (
    MSG_BLANK_USER,
    MSG_CONTROL,
    MSG_FUTURE,
    MSG_NAIVE,
    MSG_NOT_JSON,
    MSG_TOO_OLD,
)
from rollout.api.errors import MSG_METHOD_NOT_ALLOWED, MSG_RATE_LIMITED, WWW_AUTHENTICATE
from rollout.api.events import (
    MAX_EVENTS,
    MSG_ATTRS_SIZE,
    MSG_ATTRS_VALUES,
    MSG_EMPTY,
    MSG_ENVELOPE,
    MSG_NONE_VALID,
    MSG_TOO_MANY,
)
from rollout.api.limits import MSG_BODY_TOO_LARGE
from rollout.models import (
    Cohort,
    CohortMember,
    UsageDirtyDay,
    UsageEvent,
    UsageRollup,
    Workflow,
)
from rollout.services.api_tokens import api_token_revoke
from tests.factories import UserFactory, make_workflow
from tests.rollout.api.conftest import IssuedToken, issue_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"
KINDS = (
    "invocation, accepted, edited, overridden, error, fallback, agreed, disagreed, input_ok, "
    "input_rejected, input_stale, outcome"
)


def item(**fields) -> dict:
    value = {
        "event_id": str(uuid.uuid4()),
        "user_ref": "mia.member@example.com",
        "kind": "invocation",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    value.update(fields)
    return value


def post(client: Client, token: IssuedToken | None, body, *, raw: bool = False):
    data = body if raw else json.dumps(body)
    headers = token.headers if token else {}
    return client.post(URL, data, "application/json", headers=headers)


def stored() -> int:
    return UsageEvent.objects.count()


# --- 200 ---------------------------------------------------------------------------------------


def test_a_valid_batch_is_accepted(api_client, api_token, workflow):
    batch = [item(), item(kind="accepted", latency_ms=420, attrs={"model": "gpt-5"})]
    response = post(api_client, api_token, {"events": batch})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"accepted": 2, "duplicate": 0, "rejected": 0, "errors": []}
    assert UsageEvent.objects.filter(workflow=workflow).count() == 2
    event = UsageEvent.objects.get(event_id=batch[1]["event_id"])
    assert (event.kind, event.latency_ms, event.attrs) == ("accepted", 420, {"model": "gpt-5"})


def test_the_same_batch_twice_counts_once(api_client, api_token):
    body = {"events": [item(), item()]}
    assert post(api_client, api_token, body).json()["accepted"] == 2
    response = post(api_client, api_token, body)
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicate": 2, "rejected": 0, "errors": []}
    assert stored() == 2


def test_an_event_twice_in_a_batch_is_a_duplicate(api_client, api_token):
    once = item()
    response = post(api_client, api_token, {"events": [once, once, item()]})
    assert response.json() == {"accepted": 2, "duplicate": 1, "rejected": 0, "errors": []}


def test_valid_items_are_stored_and_invalid_ones_reported_by_index(api_client, api_token):
    body = {
        "events": [
            item(),
            item(kind="clicked"),
            item(latency_ms=-5, occurred_at="2026-11-30T14:05:00"),
            item(kind="error"),
        ]
    }
    response = post(api_client, api_token, body)
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicate": 0,
        "rejected": 2,
        "errors": [
            {"index": 1, "field": "kind", "message": f"Unknown kind. Use one of: {KINDS}."},
            {"index": 2, "field": "occurred_at", "message": MSG_NAIVE},
            {
                "index": 2,
                "field": "latency_ms",
                "message": "Input should be greater than or equal to 0",
            },
        ],
    }
    ids = set(UsageEvent.objects.values_list("event_id", flat=True))
    assert ids == {
        uuid.UUID(body["events"][0]["event_id"]),
        uuid.UUID(body["events"][3]["event_id"]),
    }


def test_times_with_an_offset_are_stored_as_the_same_instant(api_client, api_token):
    at = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    local = at.astimezone(timezone.get_fixed_timezone(330)).isoformat()  # +05:30
    sent = item(occurred_at=local)
    post(api_client, api_token, {"events": [sent]})
    assert UsageEvent.objects.get(event_id=sent["event_id"]).occurred_at == at


def test_a_late_event_up_to_400_days_old_is_accepted_when_events_are_kept_that_long(
    api_client, api_token
):
    Organisation.objects.create(pk=ORGANISATION_PK, usage_events_retention_months=14)
    old = (timezone.now() - timedelta(days=399)).isoformat()
    assert post(api_client, api_token, {"events": [item(occurred_at=old)]}).status_code == 200


def test_an_event_older_than_raw_events_are_kept_is_refused_with_the_reason(
    api_client, api_token, workflow
):
    """13 months by default: stored, it would be deleted with the night's retention and never
    counted (the rollup does not rebuild days past retention)."""
    kept = timezone.now() - timedelta(days=360)
    past = timezone.now() - timedelta(days=397)
    batch = {"events": [item(occurred_at=kept.isoformat()), item(occurred_at=past.isoformat())]}

    body = post(api_client, api_token, batch).json()

    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["errors"] == [
        {
            "index": 1,
            "field": "occurred_at",
            "message": "This is older than the 13 months raw usage events are kept (the "
            "organisation's settings): it would not be counted.",
        }
    ]
    assert UsageEvent.objects.filter(workflow=workflow).count() == 1


def test_people_are_attributed_to_their_cohort(api_client, api_token, workflow):
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    CohortMember.objects.create(
        cohort=cohort, user=UserFactory(email="mia.member@example.com", external_id="EMP-7")
    )
    batch = [item(user_ref="Mia.Member@EXAMPLE.com"), item(user_ref="EMP-7"), item(user_ref="x")]
    post(api_client, api_token, {"events": batch})
    by_ref = dict(UsageEvent.objects.values_list("user_ref", "cohort_id"))
    assert by_ref == {"Mia.Member@EXAMPLE.com": cohort.pk, "EMP-7": cohort.pk, "x": None}


def test_the_rollup_follows_the_commit(
    api_client, api_token, workflow, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(api_client, api_token, {"events": [item(), item(kind="error")]})
    day = UsageRollup.objects.get(workflow=workflow, period="day", cohort=None)
    assert (day.invocations, day.errors) == (1, 1)
    assert not UsageDirtyDay.objects.exists()


def test_a_full_batch_costs_the_queries_of_a_small_one(api_client, api_token, settings):
    settings.ROLLOUT_API_RATE_PER_MINUTE = 10**6
    refs = [f"person{i}@example.com" for i in range(100)]

    def batch(size: int) -> dict:
        return {"events": [item(user_ref=refs[i % 100], latency_ms=i) for i in range(size)]}

    with CaptureQueriesContext(connection) as small:
        assert post(api_client, api_token, batch(10)).json()["accepted"] == 10
    with CaptureQueriesContext(connection) as full:
        assert post(api_client, api_token, batch(MAX_EVENTS)).json()["accepted"] == MAX_EVENTS
    assert len(full.captured_queries) <= len(small.captured_queries)


# --- 400: the envelope -------------------------------------------------------------------------


def envelope_error(detail: str, field: str = "events") -> dict:
    return {"detail": detail, "errors": [{"field": field, "message": detail}]}


@pytest.mark.parametrize("body", [b"{not json", b'{"events": [}', b"\xff\xfe", b""])
def test_a_body_that_is_not_json(api_client, api_token, body):
    response = post(api_client, api_token, body, raw=True)
    expected = envelope_error(MSG_ENVELOPE) if body == b"" else envelope_error(MSG_NOT_JSON, "")
    assert response.status_code == 400
    assert response.json() == expected


@pytest.mark.parametrize(
    "body",
    [[item()], {"event": [item()]}, {"events": {"0": item()}}, {"events": None}, "events", 7, None],
)
def test_a_wrong_envelope(api_client, api_token, body):
    response = post(api_client, api_token, body)
    assert response.status_code == 400
    assert response.json() == envelope_error(MSG_ENVELOPE)
    assert stored() == 0


def test_an_unknown_field_beside_events(api_client, api_token):
    response = post(api_client, api_token, {"events": [item()], "workflow": "x"})
    assert response.status_code == 400
    assert response.json() == envelope_error("Unknown field: workflow.", "workflow")
    assert stored() == 0


def test_an_empty_batch(api_client, api_token):
    response = post(api_client, api_token, {"events": []})
    assert response.status_code == 400
    assert response.json() == envelope_error(MSG_EMPTY)


def test_more_than_1000_events(api_client, api_token):
    response = post(api_client, api_token, {"events": [item() for _ in range(MAX_EVENTS + 1)]})
    assert response.status_code == 400
    assert response.json() == envelope_error(MSG_TOO_MANY)
    assert stored() == 0


# --- 400: every item invalid -------------------------------------------------------------------

NOW = datetime.now(UTC)

INVALID = [
    ({"latency_ms": 12.5}, "latency_ms", "Input should be a valid integer"),
    ({"latency_ms": 12.0}, "latency_ms", "Input should be a valid integer"),
    ({"latency_ms": "12"}, "latency_ms", "Input should be a valid integer"),
    ({"latency_ms": True}, "latency_ms", "Input should be a valid integer"),
    ({"latency_ms": -1}, "latency_ms", "Input should be greater than or equal to 0"),
    ({"latency_ms": 86_400_001}, "latency_ms", "Input should be less than or equal to 86400000"),
    ({"occurred_at": "2026-11-30T14:05:00"}, "occurred_at", MSG_NAIVE),
    ({"occurred_at": (NOW + timedelta(hours=2)).isoformat()}, "occurred_at", MSG_FUTURE),
    ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at", MSG_FUTURE),
    ({"occurred_at": (NOW - timedelta(days=401)).isoformat()}, "occurred_at", MSG_TOO_OLD),
    (
        {"occurred_at": "yesterday"},
        "occurred_at",
        "Input should be a valid datetime or date, input is too short",
    ),
    ({"kind": "clicked"}, "kind", f"Unknown kind. Use one of: {KINDS}."),
    ({"kind": "Invocation"}, "kind", f"Unknown kind. Use one of: {KINDS}."),
    ({"kind": None}, "kind", f"Unknown kind. Use one of: {KINDS}."),
    ({"attrs": {"channel": {"name": "email"}}}, "attrs", MSG_ATTRS_VALUES),
    ({"attrs": {"tags": ["a", "b"]}}, "attrs", MSG_ATTRS_VALUES),
    ({"attrs": {f"k{i}": i for i in range(21)}}, "attrs", MSG_ATTRS_SIZE),
    ({"attrs": {"note": "x" * 2100}}, "attrs", MSG_ATTRS_SIZE),
    ({"attrs": ["model", "gpt-5"]}, "attrs", "Input should be a valid dictionary"),
    ({"attrs": {"note": "a\x00b"}}, "attrs", MSG_CONTROL),
    ({"source": "crm"}, "source", "Extra inputs are not permitted"),
    (
        {"event_id": "not-a-uuid"},
        "event_id",
        "Input should be a valid UUID, invalid character: found `n` at 0",
    ),
    ({"event_id": 12345}, "event_id", "UUID input should be a string, bytes or UUID object"),
    ({"user_ref": ""}, "user_ref", MSG_BLANK_USER),
    ({"user_ref": "   "}, "user_ref", MSG_BLANK_USER),
    ({"user_ref": "x" * 255}, "user_ref", "String should have at most 254 characters"),
    ({"user_ref": 42}, "user_ref", "Input should be a valid string"),
    ({"user_ref": "mia\x00@example.com"}, "user_ref", MSG_CONTROL),
]


@pytest.mark.parametrize(("fields", "field", "message"), INVALID)
def test_an_invalid_item_is_reported_and_nothing_is_stored(
    api_client, api_token, fields, field, message
):
    response = post(api_client, api_token, {"events": [item(**fields)]})
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_NONE_VALID,
        "errors": [{"index": 0, "field": field, "message": message}],
        "rejected": 1,
        "accepted": 0,
        "duplicate": 0,
    }
    assert stored() == 0
    assert not UsageDirtyDay.objects.exists()


def test_missing_fields_and_items_that_are_not_objects(api_client, api_token):
    incomplete = item()
    del incomplete["event_id"], incomplete["kind"]
    response = post(api_client, api_token, {"events": [incomplete, 5, None, ["x"]]})
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_NONE_VALID,
        "errors": [
            {"index": 0, "field": "event_id", "message": "Field required"},
            {"index": 0, "field": "kind", "message": "Field required"},
            {"index": 1, "field": "", "message": "An event is a JSON object."},
            {"index": 2, "field": "", "message": "An event is a JSON object."},
            {"index": 3, "field": "", "message": "An event is a JSON object."},
        ],
        "rejected": 4,
        "accepted": 0,
        "duplicate": 0,
    }
    assert stored() == 0


def test_optional_fields_may_be_null_or_left_out(api_client, api_token):
    sent = item(latency_ms=None)
    assert post(api_client, api_token, {"events": [sent]}).json()["accepted"] == 1
    event = UsageEvent.objects.get(event_id=sent["event_id"])
    assert (event.latency_ms, event.attrs) == (None, {})


# --- 401, 405, 413, 429 ------------------------------------------------------------------------


def test_no_token(api_client):
    response = post(api_client, None, {"events": [item()]})
    assert response.status_code == 401
    assert response.json() == {"detail": MSG_MISSING}
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert stored() == 0


def test_a_session_is_no_token(client, workflow_owner, api_token):
    client.force_login(workflow_owner)
    response = post(client, None, {"events": [item()]})
    assert response.status_code == 401
    assert response.json() == {"detail": MSG_MISSING}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer ro_wrong", MSG_INVALID),
        ("Bearer ", MSG_MISSING),
        ("Basic abc", MSG_MISSING),
        ("ro_nobearer", MSG_MISSING),
    ],
)
def test_a_wrong_token(api_client, api_token, header, detail):
    response = api_client.post(
        URL, json.dumps({"events": [item()]}), "application/json", headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert stored() == 0


def test_a_revoked_token(api_client, api_token, workflow_owner):
    api_token_revoke(token=api_token.token, actor=workflow_owner)
    response = post(api_client, api_token, {"events": [item()]})
    assert response.status_code == 401
    assert response.json() == {"detail": MSG_INVALID}
    assert stored() == 0


def test_only_post(api_client, api_token):
    response = api_client.get(URL, headers=api_token.headers)
    assert response.status_code == 405
    assert response.json() == {"detail": MSG_METHOD_NOT_ALLOWED}
    assert response["Allow"] == "POST"


def test_a_body_over_one_mebibyte(api_client, api_token):
    note = "x" * 1500
    batch = [item(attrs={"note": note}) for _ in range(MAX_BODY_BYTES // 1500 + 10)]
    body = json.dumps({"events": batch})
    assert len(body) > MAX_BODY_BYTES
    response = post(api_client, api_token, body, raw=True)
    assert response.status_code == 413
    assert response.json() == {"detail": MSG_BODY_TOO_LARGE}
    assert stored() == 0


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_rate_limited(api_client, api_token, monkeypatch):
    monkeypatch.setattr("rollout.api.throttling.clock", lambda: 1_800_000_000 - 1_800_000_000 % 60)
    assert post(api_client, api_token, {"events": [item()]}).status_code == 200
    response = post(api_client, api_token, {"events": [item()]})
    assert response.status_code == 429
    assert response.json() == {"detail": MSG_RATE_LIMITED}
    assert response["Retry-After"] == "60"
    assert stored() == 1


def test_events_go_to_the_tokens_workflow(api_client, workflow_owner, ops_leader, workflow):
    other: Workflow = make_workflow(owner=workflow_owner, actor=ops_leader)
    token = issue_token(other, workflow_owner)
    post(api_client, token, {"events": [item()]})
    assert UsageEvent.objects.get().workflow == other
