"""Idempotency-Key on the management API's creates (issue 20 §4)."""

import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from rollout.api.manage import workflows as workflows_module
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


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_create_once(
    monkeypatch: pytest.MonkeyPatch, ops_leader, workflow_owner
) -> None:
    # Two real requests in two threads: the first holds its create open until the duplicate has
    # been answered, so the duplicate meets the key while its first request is still running.
    token = issue_personal_token(ops_leader)
    release = threading.Event()
    real_create = workflows_module.workflow_create

    def slow_create(**kwargs):
        assert release.wait(timeout=300), "the test never released the first request"
        return real_create(**kwargs)

    monkeypatch.setattr(workflows_module, "workflow_create", slow_create)
    answers: dict[str, object] = {}

    def first() -> None:
        try:
            answers["first"] = _post(Client(), token, BODY, "k-5")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        # The first request's claim is committed before its create runs.
        deadline = time.monotonic() + 300
        while not IdempotentRequest.objects.filter(key="k-5").exists():
            assert time.monotonic() < deadline, "the first request never claimed its key"
            time.sleep(0.05)
        duplicate = _post(Client(), token, BODY, "k-5")
    finally:
        release.set()
        thread.join(timeout=300)
    assert duplicate.status_code == 409
    assert duplicate.json() == {"detail": MSG_KEY_IN_FLIGHT}
    assert answers["first"].status_code == 201
    replay = _post(Client(), token, BODY, "k-5")
    assert replay.status_code == 201
    assert replay[REPLAYED_HEADER] == "true"
    assert replay.json() == answers["first"].json()
    assert Workflow.objects.filter(slug="invoice-triage").count() == 1
