"""Issue 13, item 9: a request whose database connection dies under it (the backend terminated
mid-request, as in `make chaos`) answered 500. Reads and the idempotent events batch are answered
again on a new connection; other writes answer 503 with Retry-After, having stored nothing."""

import json
import re
import uuid

import pytest
from django.utils import timezone

from rollout.models import Feedback, UsageDirtyDay, UsageEvent
from tests.db_faults import connection_lost_at, postgres_only
from tests.rollout.api.conftest import IssuedToken

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def _inserting(table: str):
    insert = re.compile(rf'\s*INSERT INTO "?{table}"?[\s(]')
    return lambda sql: insert.match(sql) is not None


def _event(user: str) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "user_ref": user,
        "kind": "invocation",
        "occurred_at": timezone.now().isoformat(),
    }


def test_an_events_batch_cut_mid_write_is_stored_once_and_answered_200(
    api_client, api_token: IssuedToken, member
):
    batch = {"events": [_event(member.email), _event(member.email)]}

    # The events are written by COPY, which passes no execute wrapper: the cut comes at the next
    # statement of the same transaction, marking their day for the rollup, when they are written
    # but not committed.
    with connection_lost_at(_inserting(UsageDirtyDay._meta.db_table)) as cut:
        response = api_client.post(
            "/api/v1/events", json.dumps(batch), "application/json", headers=api_token.headers
        )

    assert cut, "the connection was never cut: the test no longer tests anything"
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    assert UsageEvent.objects.count() == 2


def test_an_events_batch_whose_connection_dies_during_the_copy_is_stored_once(
    api_client, api_token: IssuedToken, member
):
    batch = {"events": [_event(member.email), _event(member.email)]}

    # The savepoint just before the COPY of the events: the COPY meets the dead connection.
    with connection_lost_at(lambda sql: sql.startswith("SAVEPOINT"), after=True) as cut:
        response = api_client.post(
            "/api/v1/events", json.dumps(batch), "application/json", headers=api_token.headers
        )

    assert cut, "the connection was never cut: the test no longer tests anything"
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    assert UsageEvent.objects.count() == 2


def test_a_decision_whose_connection_dies_is_answered(api_client, api_token: IssuedToken, member):
    with connection_lost_at(lambda sql: sql.startswith("SELECT")) as cut:
        response = api_client.get(
            "/api/v1/decision",
            {"workflow": api_token.token.workflow.slug, "user": member.email},
            headers=api_token.headers,
        )

    assert cut
    assert response.status_code == 200, response.content
    assert response.json()["mode"] in ("live", "shadow", "off")


def test_feedback_cut_mid_write_answers_503_retry_after_and_stores_nothing(
    api_client, api_token: IssuedToken, member
):
    body = json.dumps(
        {"user_ref": member.email, "rating": "not_helpful", "category": "wrong_output"}
    )

    with connection_lost_at(_inserting(Feedback._meta.db_table)) as cut:
        response = api_client.post(
            "/api/v1/feedback", body, "application/json", headers=api_token.headers
        )

    assert cut
    assert response.status_code == 503, response.content
    assert response.json() == {
        "detail": "The database connection was lost while answering. Send the request again "
        "after the Retry-After seconds."
    }
    assert int(response["Retry-After"]) >= 1
    assert not Feedback.objects.exists()
    # The next request has a connection again, and the retry the answer asks for works.
    retried = api_client.post(
        "/api/v1/feedback", body, "application/json", headers=api_token.headers
    )
    assert retried.status_code == 201, retried.content
    assert Feedback.objects.count() == 1
