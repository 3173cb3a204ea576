"""Migration 0028 keeps the endpoints made before Standard Webhooks in the old format for 90 days
(their receivers switch when they are ready), and marks the rows already queued as old-format."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from rollout.models import ActivityEntry, Webhook, WebhookDelivery
from tests.factories import make_workflow

BEFORE = [("rollout", "0027_personal_tokens")]
AFTER = [("rollout", "0028_webhooks_standard")]


@pytest.mark.django_db(transaction=True)
def test_existing_endpoints_keep_the_old_format_for_90_days(ops_leader):
    workflow = make_workflow(actor=ops_leader)
    entry = ActivityEntry.objects.create(workflow=workflow, verb="paused", target="Limited")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    old = apps.get_model("rollout", "Webhook").objects.create(
        workflow_id=workflow.pk, url="https://a.example/h", secret="old-secret"
    )
    apps.get_model("rollout", "WebhookDelivery").objects.create(
        webhook_id=old.pk, activity_id=entry.pk, payload={"id": entry.pk},
        next_attempt_at=timezone.now(),
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    try:
        webhook = Webhook.objects.get(pk=old.pk)
        left = webhook.legacy_until - timezone.now()
        assert timedelta(days=89, hours=23) < left <= timedelta(days=90)
        assert (webhook.kind, webhook.secret, webhook.event_types) == ("webhook", "old-secret", [])
        assert webhook.is_legacy
        assert WebhookDelivery.objects.get().legacy is True
    finally:  # the next tests want the latest schema
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
