"""POST /api/v1/sources/<key>/heartbeat, and input_* events through POST /api/v1/events."""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rollout.api.checks import MSG_NAIVE
from rollout.api.errors import MSG_INVALID_INPUT
from rollout.api.events import MSG_UNKNOWN_SOURCE as MSG_EVENT_UNKNOWN_SOURCE
from rollout.api.sources import MSG_RETIRED, MSG_UNKNOWN_SOURCE
from rollout.models import (
    DataSource,
    SourceHeartbeat,
    SourceKind,
    SourceState,
    SourceStatus,
    UsageEvent,
    UsageRollup,
)
from rollout.services.data_sources import data_source_create
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.source_health import MSG_REJECTED_OVER_RECORDS
from tests.factories import make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(workflow, ops_leader) -> DataSource:
    return data_source_create(
        workflow=workflow, actor=ops_leader, name="CRM export", kind=SourceKind.LIVE,
        max_age_minutes=60,
    )  # fmt: skip


def beat(client, token, key="crm-export", body=None, *, raw=None):
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    return client.post(
        f"/api/v1/sources/{key}/heartbeat", data, "application/json", headers=token.headers
    )


# --- heartbeat ---------------------------------------------------------------------------------


def test_a_heartbeat_is_stored_and_makes_the_source_fresh_at_once(api_client, api_token, source):
    as_of = timezone.now() - timedelta(minutes=10)
    response = beat(
        api_client, api_token, body={"data_as_of": as_of.isoformat(), "records": 40, "rejected": 2}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["source"], body["state"]) == ("crm-export", "fresh")
    stored = SourceHeartbeat.objects.get()
    assert (stored.source, stored.records, stored.rejected, stored.data_as_of) == (
        source,
        40,
        2,
        as_of,
    )
    status = SourceStatus.objects.get(source=source)
    assert (status.state, status.last_data_as_of) == (SourceState.FRESH, as_of)


def test_an_empty_body_is_a_heartbeat_without_records(api_client, api_token, source):
    response = api_client.post(
        "/api/v1/sources/crm-export/heartbeat", content_type="application/json",
        headers=api_token.headers,
    )  # fmt: skip
    assert response.status_code == 200
    assert SourceHeartbeat.objects.get().records == 0


def test_old_data_in_a_heartbeat_is_stale(api_client, api_token, source):
    old = (timezone.now() - timedelta(hours=3)).isoformat()
    assert beat(api_client, api_token, body={"data_as_of": old}).json()["state"] == "stale"


def test_an_unknown_key_is_404_and_stores_nothing(api_client, api_token, source):
    response = beat(api_client, api_token, key="erp")
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_SOURCE.format(key="erp")}
    assert not SourceHeartbeat.objects.exists()


def test_a_source_removed_while_its_heartbeat_arrives_is_404_and_stores_nothing(
    api_client, api_token, source, monkeypatch
):
    # Looked up, then deleted by someone else before the heartbeat is stored.
    monkeypatch.setattr("rollout.api.sources.data_source_by_key", lambda workflow_id, key: source)
    DataSource.objects.filter(pk=source.pk).delete()
    response = beat(api_client, api_token)
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_SOURCE.format(key=source.key)}
    assert not SourceHeartbeat.objects.exists()


def test_another_workflows_source_is_404(api_client, api_token, ops_leader):
    other = make_workflow(actor=ops_leader, slug="other-flow")
    data_source_create(workflow=other, actor=ops_leader, name="CRM export", kind=SourceKind.LIVE)
    assert beat(api_client, api_token).status_code == 404
    assert not SourceHeartbeat.objects.exists()


def test_a_retired_workflow_answers_410(api_client, api_token, source, workflow):
    type(workflow).objects.filter(pk=workflow.pk).update(retired_at=timezone.now())
    response = beat(api_client, api_token)
    assert response.status_code == 410
    assert response.json() == {"detail": MSG_RETIRED}
    assert not SourceHeartbeat.objects.exists()


def test_without_a_token_401(api_client, source):
    response = api_client.post("/api/v1/sources/crm-export/heartbeat", "{}", "application/json")
    assert response.status_code == 401


SOON = (timezone.now() + timedelta(hours=2)).isoformat()
BAD = [
    ({"records": -1}, "records", "Input should be greater than or equal to 0"),
    ({"records": 1.5}, "records", "Input should be a valid integer"),
    ({"records": "3"}, "records", "Input should be a valid integer"),
    ({"records": True}, "records", "Input should be a valid integer"),
    ({"rejected": -2}, "rejected", "Input should be greater than or equal to 0"),
    ({"records": 3, "rejected": 4}, "rejected", MSG_REJECTED_OVER_RECORDS.format(records=3)),
    ({"data_as_of": "2026-12-01T10:00:00"}, "data_as_of", MSG_NAIVE),
    ({"data_as_of": 1764000000}, "data_as_of", MSG_NAIVE),
    ({"data_as_of": "yesterday"}, "data_as_of", None),
    (
        {"data_as_of": SOON},
        "data_as_of",
        "This is more than an hour in the future: check the sender's clock.",
    ),
    ({"colour": "blue"}, "colour", "Unknown field: colour."),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD)
def test_bad_input_is_400_by_field_and_stores_nothing(
    api_client, api_token, source, body, field, message
):
    response = beat(api_client, api_token, body=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"] == MSG_INVALID_INPUT
    assert [e["field"] for e in payload["errors"]] == [field]
    if message is not None:
        assert payload["errors"][0]["message"] == message
    assert not SourceHeartbeat.objects.exists()
    assert not SourceStatus.objects.exists()


@pytest.mark.parametrize("raw", ["[]", "null", "7", "{", '"x"', '{"records": NaN}'])
def test_a_body_that_is_not_an_object_is_400(api_client, api_token, source, raw):
    response = beat(api_client, api_token, raw=raw)
    assert response.status_code == 400
    assert response.json()["detail"] == MSG_INVALID_INPUT
    assert not SourceHeartbeat.objects.exists()


# --- input events ------------------------------------------------------------------------------


def event(**fields):
    value = {
        "event_id": str(uuid.uuid4()),
        "kind": "input_ok",
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "attrs": {"source": "crm-export"},
    }
    value.update(fields)
    return value


def send(client, token, events):
    return client.post(
        "/api/v1/events", json.dumps({"events": events}), "application/json", headers=token.headers
    )


def test_input_events_need_no_person_and_never_count_as_usage(api_client, api_token, source):
    as_of = (timezone.now() - timedelta(minutes=30)).isoformat()
    response = send(
        api_client,
        api_token,
        [
            event(attrs={"source": "crm-export", "data_as_of": as_of}),
            event(kind="input_rejected", attrs={"source": "crm-export", "reason": "no id"}),
            event(kind="input_stale", user_ref="pipeline@example.com"),
            event(kind="invocation", user_ref="mia@example.com", attrs={}),
        ],
    )
    assert response.json() == {"accepted": 4, "duplicate": 0, "rejected": 0, "errors": []}
    assert set(UsageEvent.objects.values_list("user_ref", flat=True)) == {
        "", "pipeline@example.com", "mia@example.com",
    }  # fmt: skip
    usage_refresh_pending()
    day = UsageRollup.objects.get(period="day", cohort=None)
    assert (day.invocations, day.active_users) == (1, 1)  # the pipeline is nobody's activity
    status = SourceStatus.objects.get(source=source)
    assert status.state == SourceState.STALE  # the latest report said so
    assert status.last_report_stale


def test_an_unknown_source_is_an_error_of_that_item(api_client, api_token, source):
    response = send(api_client, api_token, [event(), event(attrs={"source": "erp"})])
    assert response.status_code == 200
    assert response.json()["errors"] == [
        {"index": 1, "field": "attrs", "message": MSG_EVENT_UNKNOWN_SOURCE.format(key="erp")}
    ]
    assert UsageEvent.objects.count() == 1


def test_source_keys_are_read_once_and_only_for_batches_with_input_kinds(
    api_client, api_token, source
):
    def source_queries(events):
        with CaptureQueriesContext(connection) as queries:
            assert send(api_client, api_token, events).status_code == 200
        return [
            q for q in queries.captured_queries if '"key"' in q["sql"] and "datasource" in q["sql"]
        ]

    assert len(source_queries([event() for _ in range(50)])) == 1
    plain = [event(kind="invocation", user_ref="mia@example.com", attrs={}) for _ in range(5)]
    assert source_queries(plain) == []
