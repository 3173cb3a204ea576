"""Idempotency-Key on the management API's creates (issue 20 §4)."""

import json

import pytest
from django.test import Client

from rollout.api.manage.common import (
    MSG_KEY_IN_FLIGHT,
    MSG_KEY_INVALID,
    MSG_KEY_OTHER_BODY,
    REPLAYED_HEADER,
    body_hash,
)
from rollout.models import ActivityEntry, IdempotentRequest, Workflow
from rollout.services.idempotency import idempotency_begin
from tests.rollout.api.manage.conftest import IssuedPersonalToken, issue_personal_token

URL = "/api/v1/workflows"
JSON = "application/json"
BODY = {
    "name": "Invoice triage",
    "slug": "invoice-triage",
    "owner": "owner@example.com",
    "business_action": "Invoice routed to a team",
}


def _post(client: Client, token: IssuedPersonalToken, body: dict | str, key: str | None):
    headers = dict(token.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(URL, body, content_type=JSON, headers=headers)


def test_a_retry_gets_the_first_answer_and_creates_nothing(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner
) -> None:
    first = _post(api_client, ops_token, BODY, "5b0c1e7e-create-invoice-triage")
    assert first.status_code == 201
    assert REPLAYED_HEADER not in first
    entries = ActivityEntry.objects.count()
    # The same object with other spacing and key order is the same body.
    reordered = (
        '{"business_action": "Invoice routed to a team", "owner": "owner@example.com",'
        ' "slug": "invoice-triage",   "name": "Invoice triage"}'
    )
    again = _post(api_client, ops_token, reordered, "5b0c1e7e-create-invoice-triage")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again[REPLAYED_HEADER] == "true"
    assert Workflow.objects.filter(slug="invoice-triage").count() == 1
    assert ActivityEntry.objects.count() == entries


def test_the_same_key_with_another_body_is_422(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner
) -> None:
    _post(api_client, ops_token, BODY, "k-1")
    other = _post(api_client, ops_token, {**BODY, "slug": "invoice-triage-2"}, "k-1")
    assert other.status_code == 422
    assert other.json() == {"detail": MSG_KEY_OTHER_BODY}
    assert not Workflow.objects.filter(slug="invoice-triage-2").exists()


def test_a_concurrent_duplicate_is_409(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner
) -> None:
    # The first request has claimed the key and is still creating (its claim is committed
    # before it starts, so the duplicate sees it).
    idempotency_begin(
        token=ops_token.token,
        method="POST",
        path=URL,
        key="k-2",
        body_hash=body_hash(json.dumps(BODY).encode()),
    )
    response = _post(api_client, ops_token, BODY, "k-2")
    assert response.status_code == 409
    assert response.json() == {"detail": MSG_KEY_IN_FLIGHT}
    assert not Workflow.objects.filter(slug="invoice-triage").exists()


def test_a_refused_create_keeps_nothing_so_the_key_can_be_reused(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner
) -> None:
    refused = _post(api_client, ops_token, {**BODY, "owner": "nobody@example.com"}, "k-3")
    assert refused.status_code == 400
    assert not IdempotentRequest.objects.exists()
    assert _post(api_client, ops_token, BODY, "k-3").status_code == 201


def test_keys_belong_to_their_token(
    api_client: Client, ops_token: IssuedPersonalToken, ops_leader, workflow_owner
) -> None:
    _post(api_client, ops_token, BODY, "k-4")
    other = issue_personal_token(ops_leader, name="Second")
    second = _post(api_client, other, BODY, "k-4")
    assert second.status_code == 400  # a new create under another token: the slug is taken
    assert REPLAYED_HEADER not in second


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "naïve", "tab\tkey"])
def test_a_malformed_key_is_400(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner, key: str
) -> None:
    response = _post(api_client, ops_token, BODY, key)
    assert response.status_code == 400
    assert response.json()["detail"] in {MSG_KEY_INVALID, "The request is invalid; see errors."}
    assert not Workflow.objects.filter(slug="invoice-triage").exists()


def test_without_a_key_each_request_creates(
    api_client: Client, ops_token: IssuedPersonalToken, workflow_owner
) -> None:
    assert _post(api_client, ops_token, BODY, None).status_code == 201
    assert _post(api_client, ops_token, BODY, None).status_code == 400  # the slug is taken now
