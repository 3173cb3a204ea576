"""POST /api/v1/events with tokens and cost in attrs (issue 18 §3): valid values are stored as
sent; an invalid one is an error of its item (field `attrs`), and nothing of that item is
written. The batch check answers exactly as EventIn does on every case."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from rollout.api.checks import MSG_NON_FINITE
from rollout.api.events import MSG_NONE_VALID, _validate, _validate_each
from rollout.lib.cost_attrs import MSG_COST, MSG_TOKENS
from rollout.models import UsageDirtyDay, UsageEvent

URL = "/api/v1/events"
MSG_INPUT = MSG_TOKENS.format(name="input_tokens")
MSG_OUTPUT = MSG_TOKENS.format(name="output_tokens")


def item(attrs: dict, **fields) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "user_ref": "mia.member@example.com",
        "kind": "invocation",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "attrs": attrs,
        **fields,
    }


VALID = [
    {"input_tokens": 0, "output_tokens": 0},
    {"input_tokens": 1200, "output_tokens": 350, "model_version": "2025-04-14"},
    {"cost": 0.0042},
    {"cost": 3},
    {"cost": 0},
    {"cost": 1_000_000},
    {"input_tokens": 100_000_000},
    {"cost": 0.01, "input_tokens": 10, "output_tokens": 5},
]

INVALID = [
    ({"input_tokens": -1}, MSG_INPUT),
    ({"output_tokens": -5}, MSG_OUTPUT),
    ({"input_tokens": 12.5}, MSG_INPUT),
    ({"input_tokens": 12.0}, MSG_INPUT),
    ({"input_tokens": "12"}, MSG_INPUT),
    ({"input_tokens": True}, MSG_INPUT),
    ({"output_tokens": False}, MSG_OUTPUT),
    ({"input_tokens": None}, MSG_INPUT),
    ({"input_tokens": 100_000_001}, MSG_INPUT),
    ({"input_tokens": 10**30}, MSG_INPUT),
    ({"cost": -0.01}, MSG_COST),
    ({"cost": "0.5"}, MSG_COST),
    ({"cost": True}, MSG_COST),
    ({"cost": None}, MSG_COST),
    ({"cost": 1_000_000.5}, MSG_COST),
    ({"cost": 1e300}, MSG_COST),
    ({"cost": 0.5, "input_tokens": -1}, MSG_INPUT),
]


@pytest.mark.django_db
@pytest.mark.parametrize("attrs", VALID)
def test_valid_tokens_and_cost_are_stored_as_sent(api_client, api_token, attrs):
    response = api_client.post(
        URL, json.dumps({"events": [item(attrs)]}), "application/json", headers=api_token.headers
    )
    assert response.status_code == 200, response.json()
    assert response.json()["accepted"] == 1
    assert UsageEvent.objects.get().attrs == attrs


@pytest.mark.django_db
@pytest.mark.parametrize(("attrs", "message"), INVALID)
def test_an_invalid_cost_or_token_count_is_an_error_of_its_item(
    api_client, api_token, attrs, message
):
    body = {"events": [item(attrs)]}
    response = api_client.post(URL, json.dumps(body), "application/json", headers=api_token.headers)
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_NONE_VALID,
        "errors": [{"index": 0, "field": "attrs", "message": message}],
        "rejected": 1,
        "accepted": 0,
        "duplicate": 0,
    }
    assert not UsageEvent.objects.exists()
    assert not UsageDirtyDay.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_cost_is_refused_and_the_rest_of_the_batch_stored(api_client, api_token, text):
    good = item({"cost": 0.2})
    bad = json.dumps(item({"cost": 0.1})).replace("0.1", text)
    body = '{"events": [' + json.dumps(good) + ", " + bad + "]}"
    response = api_client.post(URL, body, "application/json", headers=api_token.headers)
    assert response.status_code == 200
    assert response.json()["errors"] == [{"index": 1, "field": "attrs", "message": MSG_NON_FINITE}]
    assert list(UsageEvent.objects.values_list("attrs", flat=True)) == [{"cost": 0.2}]


@pytest.mark.django_db
def test_in_a_mixed_batch_only_the_invalid_items_are_left_out(api_client, api_token):
    items = [item({"cost": 0.5}), item({"input_tokens": -3}), item({"output_tokens": 40})]
    response = api_client.post(
        URL, json.dumps({"events": items}), "application/json", headers=api_token.headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicate": 0,
        "rejected": 1,
        "errors": [{"index": 1, "field": "attrs", "message": MSG_INPUT}],
    }
    assert UsageEvent.objects.count() == 2


def test_the_batch_check_answers_as_event_in_on_every_case():
    now = datetime.now(UTC)
    items = [
        {**item(attrs), "occurred_at": (now - timedelta(minutes=5)).isoformat()}
        for attrs in [*VALID, *(attrs for attrs, _ in INVALID)]
    ]
    ours = _validate(items, non_finite_anywhere=False)
    pairs, errors = _validate_each(items, range(len(items)))
    assert ours == ([event for _, event in pairs], errors)
    assert len(ours[0]) == len(VALID)
    assert [e["index"] for e in ours[1]] == list(range(len(VALID), len(items)))
