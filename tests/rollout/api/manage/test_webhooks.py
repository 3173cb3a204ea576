"""The webhooks and chat channels operations: the Webhooks & chat pages' services and rules, as
JSON. (Who may call each: test_permission_matrix.py.)"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from rollout.api.manage import webhooks as api
from rollout.models import ActivityEntry, Webhook, Workflow
from rollout.services import webhooks as svc
from tests.factories import make_workflow
from tests.rollout.api.manage.conftest import IssuedPersonalToken

URL = "/api/v1/workflows/support-reply-drafting/webhooks"
ORG = "/api/v1/webhooks"
JSON = "application/json"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


def test_creating_answers_the_secret_once_and_logs_via_the_token(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.post(
        URL,
        {"url": "https://hooks.example.com/r", "event_types": ["incident.opened"]},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    webhook = Webhook.objects.get()
    assert body["secret"] == webhook.secret and body["secret"].startswith("whsec_")
    assert {k: body[k] for k in ("id", "kind", "workflow", "event_types", "active", "format")} == {
        "id": webhook.pk,
        "kind": "webhook",
        "workflow": "support-reply-drafting",
        "event_types": ["incident.opened"],
        "active": True,
        "format": "standard",
    }
    assert body["created_by"] == {"name": "Owen Owner", "email": "owner@example.com"}
    listed = api_client.get(URL, headers=owner_token.headers)
    assert listed.status_code == 200
    assert "secret" not in listed.json()[0] and webhook.secret not in listed.content.decode()
    entry = ActivityEntry.objects.get(verb="added a webhook")
    assert "via token CI bot" in entry.note


def test_a_retry_with_the_same_idempotency_key_creates_once(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    headers = {**owner_token.headers, "Idempotency-Key": "4b1c-hook"}
    body = {"kind": "slack", "url": SLACK}
    first = api_client.post(URL, body, content_type=JSON, headers=headers)
    again = api_client.post(URL, body, content_type=JSON, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert first.json()["secret"] is None and first.json()["format"] == "chat"
    assert Webhook.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "ftp://x.example/h"}, "url", svc.MSG_BAD_URL),
        ({"kind": "slack", "url": "https://example.com/services/x"}, "url", svc.MSG_SLACK_URL),
        ({"kind": "teams", "url": "https://example.com/x"}, "url", svc.MSG_TEAMS_URL),
        ({"kind": "irc", "url": "https://x.example/h"}, "kind", None),
        ({"url": "https://x.example/h", "event_types": ["nope"]}, "event_types", None),
        ({"url": "https://x.example/h", "secret": "mine"}, "secret", None),
    ],
)
def test_bad_input_is_a_400_by_field_and_creates_nothing(
    api_client: Client,
    workflow: Workflow,
    owner_token: IssuedPersonalToken,
    body: dict,
    field: str,
    message: str | None,
) -> None:
    before = ActivityEntry.objects.count()
    response = api_client.post(URL, body, content_type=JSON, headers=owner_token.headers)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [e["field"].split(".")[0] for e in errors] == [field]
    if message:
        assert response.json() == {
            "detail": message,
            "errors": [{"field": field, "message": message}],
        }
    assert not Webhook.objects.exists()
    assert ActivityEntry.objects.count() == before


def test_update_changes_events_and_turns_off_all_or_nothing(
    api_client: Client, workflow: Workflow, workflow_owner, owner_token: IssuedPersonalToken
) -> None:
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.ex/h")
    one = f"{URL}/{webhook.pk}"
    # "format" on a webhook already standard is refused, and so is the rest of the request.
    refused = api_client.patch(
        one,
        {"event_types": ["rollout.paused"], "format": "standard"},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert refused.status_code == 400
    assert refused.json() == {"detail": svc.MSG_ALREADY_STANDARD}
    webhook.refresh_from_db()
    assert webhook.event_types == []

    response = api_client.patch(
        one,
        {"event_types": ["rollout.paused"], "active": False},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert response.status_code == 200
    assert (response.json()["event_types"], response.json()["active"]) == (
        ["rollout.paused"],
        False,
    )
    webhook.refresh_from_db()
    assert (webhook.event_types, webhook.active) == (["rollout.paused"], False)


def test_an_old_webhook_switches_to_the_standard(
    api_client: Client, workflow: Workflow, workflow_owner, owner_token: IssuedPersonalToken
) -> None:
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.ex/h")
    Webhook.objects.filter(pk=webhook.pk).update(legacy_until=timezone.now() + timedelta(days=90))
    listed = api_client.get(URL, headers=owner_token.headers).json()
    assert listed[0]["format"] == "legacy" and listed[0]["legacy_until"]
    response = api_client.patch(
        f"{URL}/{webhook.pk}",
        {"format": "standard"},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert (response.status_code, response.json()["format"]) == (200, "standard")
    assert Webhook.objects.get().legacy_until is None


def test_rotating_answers_the_new_secret_and_keeps_the_old_signing(
    api_client: Client, workflow: Workflow, workflow_owner, owner_token: IssuedPersonalToken
) -> None:
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.ex/h")
    old = webhook.secret
    response = api_client.post(
        f"{URL}/{webhook.pk}/rotate", {}, content_type=JSON, headers=owner_token.headers
    )
    assert response.status_code == 200
    webhook.refresh_from_db()
    body = response.json()
    assert body["secret"] == webhook.secret != old
    assert webhook.secrets_in_use(timezone.now()) == [webhook.secret, old]
    assert body["previous_secret_valid_until"] is not None
    too_long = api_client.post(
        f"{URL}/{webhook.pk}/rotate",
        {"grace_hours": 169},
        content_type=JSON,
        headers=owner_token.headers,
    )
    assert too_long.status_code == 400
    assert Webhook.objects.get().secret == webhook.secret

    channel = svc.webhook_create(workflow=workflow, actor=workflow_owner, url=SLACK, kind="slack")
    response = api_client.post(
        f"{URL}/{channel.pk}/rotate", {}, content_type=JSON, headers=owner_token.headers
    )
    assert (response.status_code, response.json()) == (400, {"detail": svc.MSG_NOT_SIGNED})


def test_delete_and_other_workflows_endpoints_are_404(
    api_client: Client,
    workflow: Workflow,
    workflow_owner,
    ops_leader,
    owner_token: IssuedPersonalToken,
) -> None:
    other = make_workflow(actor=ops_leader, name="Invoice triage", slug="invoice-triage")
    foreign = svc.webhook_create(workflow=other, actor=ops_leader, url="https://a.ex/h")
    org = svc.webhook_create(workflow=None, actor=ops_leader, url="https://b.ex/h")
    for pk in (foreign.pk, org.pk, 999999):
        response = api_client.delete(f"{URL}/{pk}", headers=owner_token.headers)
        assert (response.status_code, response.json()) == (404, {"detail": api.MSG_NOT_FOUND})
    mine = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://c.ex/h")
    assert api_client.delete(f"{URL}/{mine.pk}", headers=owner_token.headers).status_code == 204
    assert set(Webhook.objects.values_list("pk", flat=True)) == {foreign.pk, org.pk}
    assert ActivityEntry.objects.filter(verb="deleted a webhook").exists()


def test_an_ops_leader_manages_the_organisations_channels(
    api_client: Client, workflow: Workflow, ops_token: IssuedPersonalToken
) -> None:
    response = api_client.post(
        ORG,
        {"kind": "teams", "url": "https://contoso.webhook.office.com/webhookb2/abc"},
        content_type=JSON,
        headers=ops_token.headers,
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["workflow"], created["kind"], created["secret"]) == (None, "teams", None)
    listed = api_client.get(ORG, headers=ops_token.headers).json()
    assert [c["id"] for c in listed] == [created["id"]]
    # The workflow's list does not hold it, nor does its path reach it.
    assert api_client.get(URL, headers=ops_token.headers).json() == []
    assert api_client.delete(f"{URL}/{created['id']}", headers=ops_token.headers).status_code == 404
    assert api_client.delete(f"{ORG}/{created['id']}", headers=ops_token.headers).status_code == 204
    assert not Webhook.objects.exists()


def test_the_organisations_channels_are_refused_to_others(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.post(
        ORG, {"kind": "slack", "url": SLACK}, content_type=JSON, headers=owner_token.headers
    )
    assert (response.status_code, response.json()) == (403, {"detail": svc.MSG_NOT_ALLOWED_ORG})
    assert not Webhook.objects.exists()
