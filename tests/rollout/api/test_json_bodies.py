"""Any JSON body (issue 13): a number JSON cannot hold, or a body nested too deep, is a 400
(or, in a batch, an error of its item) with a clear message — never a 500.

Python's `json` reads NaN, Infinity, -Infinity and 1e999 (as inf), which PostgreSQL's jsonb and
SQLite's JSON_VALID refuse: before the fix one of them failed the whole batch with a 500.
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from ninja import Schema
from ninja.testing import TestClient

from rollout.api import checks
from rollout.api.base import RolloutAPI
from rollout.api.errors import MSG_INVALID_INPUT
from rollout.api.events import MSG_NONE_VALID
from rollout.models import Feedback, UsageEvent

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events"
FEEDBACK = "/api/v1/feedback"
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400"]


def event(**fields) -> dict:
    value = {
        "event_id": str(uuid.uuid4()),
        "user_ref": "mia.member@example.com",
        "kind": "invocation",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    value.update(fields)
    return value


def post(client, token, url: str, text: str):
    return client.post(url, text, "application/json", headers=token.headers)


def with_number(payload: dict, number: str) -> str:
    """`payload` as JSON text, with the placeholder 12345.5 written as `number`."""
    text = json.dumps(payload)
    assert text.count("12345.5") == 1
    return text.replace("12345.5", number)


# --- Non-finite numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_number_in_attrs_fails_its_item_only(api_client, api_token, number):
    batch = [event(), event(attrs={"score": 12345.5, "model": "m1"}), event(), event()]
    response = post(api_client, api_token, EVENTS, with_number({"events": batch}, number))
    assert response.status_code == 200
    stored = set(UsageEvent.objects.values_list("event_id", flat=True))
    assert stored == {uuid.UUID(batch[i]["event_id"]) for i in (0, 2, 3)}
    assert response.json() == {
        "accepted": 3,
        "duplicate": 0,
        "rejected": 1,
        "errors": [{"index": 1, "field": "attrs", "message": checks.MSG_NON_FINITE}],
    }


def test_a_non_finite_latency_fails_its_item_only(api_client, api_token):
    batch = [event(latency_ms=12345.5), event()]
    response = post(api_client, api_token, EVENTS, with_number({"events": batch}, "NaN"))
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert response.json()["errors"] == [
        {"index": 0, "field": "latency_ms", "message": checks.MSG_NON_FINITE}
    ]


def test_a_batch_of_only_non_finite_items_is_a_400(api_client, api_token):
    text = with_number({"events": [event(attrs={"x": 12345.5})]}, "Infinity")
    response = post(api_client, api_token, EVENTS, text)
    assert response.status_code == 400
    assert not UsageEvent.objects.exists()
    assert response.json() == {
        "detail": MSG_NONE_VALID,
        "errors": [{"index": 0, "field": "attrs", "message": checks.MSG_NON_FINITE}],
        "accepted": 0,
        "duplicate": 0,
        "rejected": 1,
    }


def test_a_thousand_events_with_one_nan_store_the_other_999(api_client, api_token):
    batch = [event() for _ in range(1000)]
    batch[500]["attrs"] = {"score": 12345.5}
    response = post(api_client, api_token, EVENTS, with_number({"events": batch}, "NaN"))
    assert response.status_code == 200
    assert response.json()["accepted"] == 999
    assert UsageEvent.objects.count() == 999


@pytest.mark.parametrize("number", NON_FINITE)
def test_feedback_with_a_non_finite_number_is_a_400(api_client, api_token, number):
    payload = {
        "user_ref": "mia@example.com",
        "rating": "not_helpful",
        "category": "wrong_output",
        "text": 12345.5,
    }
    response = post(api_client, api_token, FEEDBACK, with_number(payload, number))
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_INVALID_INPUT,
        "errors": [{"field": "text", "message": checks.MSG_NON_FINITE}],
    }
    assert not Feedback.objects.exists()


# --- Deep nesting ------------------------------------------------------------------------------


def too_deep(levels: int = 100_000) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    "text",
    [
        too_deep(),
        "{" + '"a":{' * 100_000 + "}" * 100_001,
        '{"events": [{"attrs": ' + too_deep() + "}]}",
        '{"text": ' + too_deep(1_000) + "}",
    ],
    ids=["arrays", "objects", "inside-attrs", "a-thousand-levels"],
)
@pytest.mark.parametrize("url", [EVENTS, FEEDBACK])
def test_a_body_nested_too_deep_is_a_400_that_says_so(api_client, api_token, url, text):
    response = post(api_client, api_token, url, text)
    assert response.status_code == 400
    message = checks.MSG_TOO_DEEP
    detail = message if url == EVENTS else MSG_INVALID_INPUT
    assert response.json() == {"detail": detail, "errors": [{"field": "", "message": message}]}
    assert not UsageEvent.objects.exists()
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    "note", ["[" * 500 + '\\"{' * 100 + "{" * 500, "[" * 500 + "{" * 500], ids=["escapes", "plain"]
)
def test_brackets_inside_strings_are_not_nesting(api_client, api_token, note):
    batch = [event(attrs={"note": note})]
    response = post(api_client, api_token, EVENTS, json.dumps({"events": batch}))
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_a_bound_body_nested_too_deep_says_so():
    response = TestClient(bound_api()).post("/point", data=too_deep().encode())
    message = checks.MSG_TOO_DEEP
    assert response.status_code == 400
    assert response.json() == {"detail": message, "errors": [{"field": "", "message": message}]}


# --- Operations that bind a body schema (ninja parses the body) --------------------------------


class Point(Schema):
    x: float


def bound_api() -> RolloutAPI:
    """A throwaway API with one operation that lets ninja read its body."""
    api = RolloutAPI(urls_namespace="test-json-bodies", auth=None)

    @api.post("/point")
    def point(request, body: Point) -> dict:
        return {"x": body.x}

    return api


def test_a_bound_body_is_read_by_the_api_parser():
    response = TestClient(bound_api()).post("/point", json={"x": 1.5})
    assert response.status_code == 200
    assert response.json() == {"x": 1.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"x": NaN}', checks.MSG_NON_FINITE), ('{"x": 1e999}', checks.MSG_NON_FINITE)]
    + [("{not json", checks.MSG_NOT_JSON)],
)
def test_a_bound_body_that_cannot_be_read_says_why(text, message):
    response = TestClient(bound_api()).post("/point", data=text.encode())
    assert response.status_code == 400
    assert response.json() == {"detail": message, "errors": [{"field": "", "message": message}]}
