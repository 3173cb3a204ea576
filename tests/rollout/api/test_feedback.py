"""Contract of POST /api/v1/feedback: every status it answers, with the exact body; invalid
payloads store nothing."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.api.auth import MSG_INVALID, MSG_MISSING
from rollout.api.checks import MSG_NAIVE, MSG_NOT_JSON, MSG_TOO_OLD
from rollout.api.errors import MSG_INVALID_INPUT, MSG_METHOD_NOT_ALLOWED
from rollout.api.feedback import MSG_CATEGORY, MSG_EVENT_ID, MSG_OBJECT, MSG_RATING
from rollout.models import Escalation, Feedback, UsageEvent
from rollout.services import cohorts as cohort_svc
from rollout.services.api_tokens import api_token_revoke
from rollout.services.feedback import MSG_BAD_EVENT, MSG_TEXT_TOO_LONG
from tests.factories import UserFactory, make_workflow
from tests.rollout.api.conftest import IssuedToken, issue_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/feedback"


def body(**fields) -> dict:
    value = {"user_ref": "mia@example.com", "rating": "not_helpful", "category": "wrong_output"}
    value.update(fields)
    return value


def post(client, token: IssuedToken | None, payload, **extra):
    data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    headers = token.headers if token else {}
    return client.post(URL, data=data, content_type="application/json", headers=headers, **extra)


@pytest.fixture
def member(workflow, ops_leader):
    cohort = cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops_leader)
    user = UserFactory(email="mia@example.com")
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


def test_201_for_a_known_member(api_client, api_token, member):
    response = post(api_client, api_token, body(text="Wrong policy"))
    feedback = Feedback.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "id": feedback.pk,
        "status": "new",
        "cohort": "EU agents",
        "author_known": True,
    }
    assert (feedback.author, feedback.source, feedback.text) == (member, "api", "Wrong policy")


def test_201_for_an_unknown_person_stored_without_author(api_client, api_token):
    response = post(api_client, api_token, body(user_ref="ext-77", rating="helpful"))
    assert response.status_code == 201
    assert response.json()["author_known"] is False and response.json()["cohort"] is None
    feedback = Feedback.objects.get()
    assert (feedback.author, feedback.user_ref) == (None, "ext-77")


def test_an_event_id_and_occurred_at_are_kept(api_client, api_token, workflow):
    event = UsageEvent.objects.create(
        workflow=workflow,
        event_id=uuid.uuid4(),
        user_ref="x",
        kind="invocation",
        occurred_at=timezone.now(),
        received_at=timezone.now(),
    )
    at = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    response = post(
        api_client, api_token, body(event_id=str(event.event_id), occurred_at=at.isoformat())
    )
    assert response.status_code == 201
    feedback = Feedback.objects.get()
    assert (feedback.event_id, feedback.created_at) == (event.event_id, at)


def test_harmful_opens_an_escalation(api_client, api_token):
    assert post(api_client, api_token, body(category="harmful")).status_code == 201
    assert Escalation.objects.get().source == "feedback"


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ("{not json", [{"field": "", "message": MSG_NOT_JSON}]),
        ([1, 2], [{"field": "", "message": MSG_OBJECT}]),
        (
            {},
            [
                {"field": "user_ref", "message": "Field required"},
                {"field": "rating", "message": "Field required"},
                {"field": "category", "message": "Field required"},
            ],
        ),
        (body(rating="meh"), [{"field": "rating", "message": MSG_RATING}]),
        (body(category=3), [{"field": "category", "message": MSG_CATEGORY}]),
        (body(event_id="nope"), [{"field": "event_id", "message": MSG_EVENT_ID}]),
        (
            body(text="x" * 4001),
            [{"field": "text", "message": MSG_TEXT_TOO_LONG.format(length=4001)}],
        ),
        (body(occurred_at="2026-11-30T10:00:00"), [{"field": "occurred_at", "message": MSG_NAIVE}]),
        (
            body(occurred_at="2020-01-01T00:00:00Z"),
            [{"field": "occurred_at", "message": MSG_TOO_OLD}],
        ),
        (
            body(user_ref="   "),
            [
                {
                    "field": "user_ref",
                    "message": "Name the person: an email or the id the AI tool knows them by.",
                }
            ],
        ),
        (body(extra=1), [{"field": "extra", "message": "Unknown field: extra."}]),
        (body(event_id=str(uuid.uuid4())), [{"field": "event_id", "message": MSG_BAD_EVENT}]),
    ],
)
def test_400_with_every_invalid_field_and_nothing_stored(api_client, api_token, payload, errors):
    response = post(api_client, api_token, payload)
    assert response.status_code == 400
    assert response.json() == {"detail": MSG_INVALID_INPUT, "errors": errors}
    assert not Feedback.objects.exists()
    assert not Escalation.objects.exists()


def test_an_event_of_another_workflow_is_unknown(api_client, api_token, ops_leader):
    other = make_workflow(owner=UserFactory(), actor=ops_leader)
    event = UsageEvent.objects.create(
        workflow=other,
        event_id=uuid.uuid4(),
        user_ref="x",
        kind="invocation",
        occurred_at=timezone.now(),
        received_at=timezone.now(),
    )
    response = post(api_client, api_token, body(event_id=str(event.event_id)))
    assert response.json()["errors"] == [{"field": "event_id", "message": MSG_BAD_EVENT}]


def test_401_without_or_with_a_revoked_token(api_client, api_token, workflow_owner):
    response = post(api_client, None, body())
    assert (response.status_code, response.json()) == (401, {"detail": MSG_MISSING})
    api_token_revoke(token=api_token.token, actor=workflow_owner)
    response = post(api_client, api_token, body())
    assert (response.status_code, response.json()) == (401, {"detail": MSG_INVALID})
    assert not Feedback.objects.exists()


def test_the_token_decides_the_workflow(api_client, ops_leader, workflow):
    other = make_workflow(owner=UserFactory(), actor=ops_leader)
    token = issue_token(other, ops_leader)
    assert post(api_client, token, body()).status_code == 201
    assert Feedback.objects.get().workflow == other


def test_405_for_get(api_client, api_token):
    response = api_client.get(URL, headers=api_token.headers)
    assert (response.status_code, response.json()) == (405, {"detail": MSG_METHOD_NOT_ALLOWED})


def test_it_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/feedback"]["post"]
    assert set(operation["responses"]) >= {"201", "400", "401", "413", "429"}
    assert operation["requestBody"]["required"] is True


def test_a_retired_workflow_takes_no_feedback(api_client, api_token, workflow, ops_leader):
    from rollout.api.feedback import MSG_RETIRED
    from rollout.services.retirement import workflow_retire

    workflow_retire(workflow=workflow, actor=ops_leader, reason="Replaced by the new desk tool.")

    response = post(api_client, api_token, body(text="Still here?"))

    assert response.status_code == 410
    assert response.json()["detail"] == MSG_RETIRED
    assert not Feedback.objects.exists()
