"""POST /api/v1/events with outcome events (issue 18 §1): `value` required on `outcome` and
allowed only there, `attrs.metric` a declared, current metric, per-item errors with nothing of
the invalid items written, the arm stamped at `occurred_at`, and a fixed number of queries."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rollout.api.checks import MSG_NON_FINITE
from rollout.api.events import (
    MSG_NO_METRIC,
    MSG_NONE_VALID,
    MSG_UNKNOWN_METRIC,
    MSG_VALUE_ONLY_OUTCOME,
    MSG_VALUE_REQUIRED,
    MSG_VALUE_TOO_LARGE,
)
from rollout.models import Arm, UsageEvent
from rollout.services.outcome_metrics import outcome_metric_archive, outcome_metric_create
from tests.factories import UserFactory
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def post(client, token, events):
    return client.post(
        URL, json.dumps({"events": events}), content_type="application/json", headers=token.headers
    )


def outcome(user: str, value=120.0, metric="handle_time_s", **extra) -> dict:
    item = {
        "event_id": str(uuid.uuid4()),
        "user_ref": user,
        "kind": "outcome",
        # Now: the cohort was enrolled (and its holdout set) a moment ago.
        "occurred_at": timezone.now().isoformat(),
        "attrs": {"metric": metric},
        "value": value,
    }
    item.update(extra)
    return item


@pytest.fixture
def metric(workflow, workflow_owner):
    return outcome_metric_create(
        workflow=workflow,
        actor=workflow_owner,
        name="handle_time_s",
        label="Handle time",
        unit="s",
        higher_is_better=False,
    )


@pytest.fixture
def arms(workflow, ops_leader):
    make_plan(workflow, current="limited")
    return holdout_cohort(workflow, ops_leader)


def test_outcomes_are_stored_with_their_value_and_arm(api_client, api_token, metric, arms):
    held, ai = arms.held_out[0], arms.ai[0]
    stranger = "someone.else@example.com"
    body = [outcome(held.email, 300), outcome(ai.email, 200.5), outcome(stranger, 250)]
    response = post(api_client, api_token, body)
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "duplicate": 0, "rejected": 0, "errors": []}
    stored = {e.user_ref: (e.value, e.arm) for e in UsageEvent.objects.all()}
    assert stored == {
        held.email: (300.0, Arm.HOLDOUT),
        ai.email: (200.5, Arm.AI),
        stranger: (250.0, None),  # not known to Rollout: in neither arm
    }


def test_value_is_required_on_outcomes_and_refused_elsewhere(api_client, api_token, metric, arms):
    email = arms.ai[0].email
    no_value = outcome(email)
    del no_value["value"]
    invocation = {
        "event_id": str(uuid.uuid4()),
        "user_ref": email,
        "kind": "invocation",
        "occurred_at": timezone.now().isoformat(),
        "value": 3,
    }
    body = [
        outcome(email, 10),
        no_value,
        invocation,
        outcome(email, None),
        outcome(email, "12"),
        outcome(email, True),
        outcome(email, 10**400),
    ]
    response = post(api_client, api_token, body)
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicate": 0,
        "rejected": 6,
        "errors": [
            {"index": 1, "field": "value", "message": MSG_VALUE_REQUIRED},
            {"index": 2, "field": "value", "message": MSG_VALUE_ONLY_OUTCOME},
            {"index": 3, "field": "value", "message": MSG_VALUE_REQUIRED},
            {"index": 4, "field": "value", "message": "Input should be a valid integer"},
            {"index": 4, "field": "value", "message": "Input should be a valid number"},
            {"index": 5, "field": "value", "message": "Input should be a valid integer"},
            {"index": 5, "field": "value", "message": "Input should be a valid number"},
            {"index": 6, "field": "value", "message": MSG_VALUE_TOO_LARGE},
        ],
    }
    assert list(UsageEvent.objects.values_list("value", flat=True)) == [10.0]


def test_a_non_finite_value_is_an_error_of_its_item(api_client, api_token, metric, arms):
    item = json.dumps(outcome("a@example.com", value=0)).replace('"value": 0', '"value": NaN')
    text = '{"events": [' + item + "]}"
    response = api_client.post(
        URL, text, content_type="application/json", headers=api_token.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 0, "field": "value", "message": MSG_NON_FINITE}]
    assert not UsageEvent.objects.exists()


def test_the_metric_must_be_declared_and_current(
    api_client, api_token, workflow_owner, metric, arms
):
    email = arms.ai[0].email
    nameless = outcome(email)
    nameless["attrs"] = {}
    response = post(api_client, api_token, [nameless, outcome(email, metric="csat")])
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_NONE_VALID,
        "accepted": 0,
        "duplicate": 0,
        "rejected": 2,
        "errors": [
            {"index": 0, "field": "attrs", "message": MSG_NO_METRIC},
            {
                "index": 1,
                "field": "attrs",
                "message": MSG_UNKNOWN_METRIC.format(name="csat"),
            },
        ],
    }
    outcome_metric_archive(metric=metric, actor=workflow_owner, archived=True)
    response = post(api_client, api_token, [outcome(email)])
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "attrs",
            "message": MSG_UNKNOWN_METRIC.format(name="handle_time_s"),
        }
    ]
    assert not UsageEvent.objects.exists()


def test_outcome_batches_cost_a_fixed_number_of_queries(
    api_client, api_token, workflow, ops_leader, metric, arms
):
    def queries(size: int) -> int:
        people = [arms.held_out[0], arms.ai[0], *UserFactory.create_batch(3)]
        body = [outcome(people[i % len(people)].email, float(i)) for i in range(size)]
        with CaptureQueriesContext(connection) as captured:
            assert post(api_client, api_token, body).status_code == 200
        return len(captured)

    queries(1)  # the token is looked up once, then remembered
    assert queries(5) == queries(400)


def test_batches_without_outcomes_ask_nothing_about_them(
    api_client, api_token, metric, arms, django_assert_max_num_queries
):
    body = [
        {
            "event_id": str(uuid.uuid4()),
            "user_ref": arms.ai[0].email,
            "kind": "invocation",
            "occurred_at": timezone.now().isoformat(),
        }
    ]
    with CaptureQueriesContext(connection) as captured:
        assert post(api_client, api_token, body).status_code == 200
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    for table in ("outcome", "enrolmentsetting", "holdoutrelease", "rollout_phase"):
        assert table not in tables


def test_the_schema_documents_outcomes(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    event = schema["components"]["schemas"]["EventIn"]["properties"]
    assert "outcome" in event["kind"]["enum"]
    assert {"type": "integer"} in event["value"]["anyOf"]
    assert {"type": "number"} in event["value"]["anyOf"]
    assert "Outcome events only, and required on them" in event["value"]["description"]
    assert "`metric` (required" in event["attrs"]["description"]
    events = schema["paths"]["/api/v1/events"]["post"]["description"]
    assert "`value` on any other kind is an error" in events
