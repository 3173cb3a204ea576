"""Webhook configuration (rollout.services.webhooks): who may add one, which addresses, turning
off and deleting."""

import pytest

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import ActivityEntry, Webhook, WebhookDelivery, Workflow
from rollout.services import webhook_outbox as outbox
from rollout.services import webhooks as svc
from tests.rollout.services.webhook_receiver import record


def test_creating_needs_the_right_role_and_an_http_address(
    workflow: Workflow, workflow_owner: User, executive: User
):
    with pytest.raises(ApplicationError) as exc:
        svc.webhook_create(workflow=workflow, actor=executive, url="https://example.com/h")
    assert exc.value.message == svc.MSG_NOT_ALLOWED
    for bad in ("ftp://example.com/h", "javascript:alert(1)", "example.com", "file:///etc/passwd"):
        with pytest.raises(ApplicationError) as exc:
            svc.webhook_create(workflow=workflow, actor=workflow_owner, url=bad)
        assert (exc.value.message, exc.value.field) == (svc.MSG_BAD_URL, "url")
    webhook = svc.webhook_create(
        workflow=workflow, actor=workflow_owner, url=" https://example.com/h?key=k "
    )
    assert (webhook.url, webhook.active, len(webhook.secret)) == (
        "https://example.com/h?key=k",
        True,
        43,
    )
    with pytest.raises(ApplicationError) as exc:
        svc.webhook_create(
            workflow=workflow, actor=workflow_owner, url="https://example.com/h?key=k"
        )
    assert exc.value.message == svc.MSG_DUPLICATE
    # The activity log names the host only: a path or query may hold a key.
    entry = ActivityEntry.objects.filter(verb="added a webhook").get()
    assert entry.target == "https://example.com/…"


def test_turning_off_skips_what_is_pending_and_deleting_removes_the_log(
    workflow: Workflow, workflow_owner: User
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    record(workflow)
    svc.webhook_set_active(webhook=webhook, actor=workflow_owner, active=False)
    assert set(WebhookDelivery.objects.values_list("status", "last_error")) == {
        ("skipped", outbox.MSG_TURNED_OFF)
    }
    assert outbox.webhook_deliveries_send_due() == 0

    svc.webhook_set_active(webhook=webhook, actor=workflow_owner, active=True)
    assert WebhookDelivery.objects.filter(status="pending").count() == 1  # "turned on a webhook"

    svc.webhook_delete(webhook=webhook, actor=workflow_owner)
    assert not Webhook.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert ActivityEntry.objects.filter(verb="deleted a webhook").exists()
