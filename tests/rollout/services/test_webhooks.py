"""Webhook and chat channel configuration (rollout.services.webhooks): who may add one for a
workflow or the organisation, which addresses, event types, rotation, the switch to the standard
format, turning off and on, deleting — each logged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import ActivityEntry, Webhook, WebhookDelivery, WebhookKind, Workflow
from rollout.services import webhook_outbox as outbox
from rollout.services import webhooks as svc
from tests.factories import UserFactory
from tests.rollout.services.webhook_receiver import record

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
TEAMS = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"


def _refused(message: str, field: str | None = None, **kwargs) -> None:
    before = (Webhook.objects.count(), ActivityEntry.objects.count())
    with pytest.raises(ApplicationError) as exc:
        svc.webhook_create(**kwargs)
    assert (exc.value.message, exc.value.field) == (message, field)
    assert (Webhook.objects.count(), ActivityEntry.objects.count()) == before


def test_creating_needs_the_right_role_and_an_http_address(
    workflow: Workflow, workflow_owner: User, executive: User
):
    _refused(svc.MSG_NOT_ALLOWED, workflow=workflow, actor=executive, url="https://e.com/h")
    for bad in ("ftp://example.com/h", "javascript:alert(1)", "example.com", "file:///etc/passwd"):
        _refused(svc.MSG_BAD_URL, "url", workflow=workflow, actor=workflow_owner, url=bad)
    webhook = svc.webhook_create(
        workflow=workflow, actor=workflow_owner, url=" https://example.com/h?key=k "
    )
    assert (webhook.url, webhook.active, webhook.kind, webhook.event_types) == (
        "https://example.com/h?key=k",
        True,
        "webhook",
        [],
    )
    # A standard secret, and the standard format only.
    assert webhook.secret.startswith("whsec_") and webhook.secret_shown == webhook.secret
    assert webhook.legacy_until is None
    _refused(
        svc.MSG_DUPLICATE,
        "url",
        workflow=workflow,
        actor=workflow_owner,
        url="https://example.com/h?key=k",
    )
    # The activity log names the host only: a path or query may hold a key.
    entry = ActivityEntry.objects.filter(verb="added a webhook").get()
    assert (entry.target, entry.note) == ("https://example.com/…", "Events: All events")


def test_organisation_wide_endpoints_are_for_ops_leaders(
    workflow_owner: User, ops_leader: User, executive: User
):
    for someone in (workflow_owner, executive):
        _refused(svc.MSG_NOT_ALLOWED_ORG, workflow=None, actor=someone, url="https://e.com/h")
    channel = svc.webhook_create(workflow=None, actor=ops_leader, url=SLACK, kind=WebhookKind.SLACK)
    assert (channel.workflow, channel.secret) == (None, "")
    entry = ActivityEntry.objects.get(verb="added an organisation-wide Slack channel")
    assert (entry.workflow, entry.target) == (None, "https://hooks.slack.com/…")
    _refused(svc.MSG_DUPLICATE_ORG, "url", workflow=None, actor=ops_leader, url=SLACK, kind="slack")


@pytest.mark.parametrize(
    ("kind", "good", "bad", "message"),
    [
        (
            WebhookKind.SLACK,
            [SLACK, "https://hooks.slack.com/workflows/T1/A1/1/abc"],
            [
                "http://hooks.slack.com/services/T/B/X",
                "https://hooks.slack.com.evil.example/services/T/B/X",
                "https://example.com/services/T/B/X",
                "https://hooks.slack.com/",
                "not a url",
            ],
            svc.MSG_SLACK_URL,
        ),
        (
            WebhookKind.TEAMS,
            [
                TEAMS,
                "https://default1234.56.environment.api.powerautomate.com/powerautomate/x",
                "https://contoso.webhook.office.com/webhookb2/abc",
            ],
            [
                "http://prod-12.westeurope.logic.azure.com/workflows/abc",
                "https://logic.azure.com.evil.example/workflows/abc",
                "https://evil-logic.azure.com/x",
                "https://example.com/x",
            ],
            svc.MSG_TEAMS_URL,
        ),
    ],
)
def test_chat_addresses_must_be_the_platforms_own(
    kind: str, good: list[str], bad: list[str], message: str, workflow: Workflow,
    workflow_owner: User,
):  # fmt: skip
    for url in bad:
        _refused(message, "url", workflow=workflow, actor=workflow_owner, url=url, kind=kind)
    for url in good:
        channel = svc.webhook_create(workflow=workflow, actor=workflow_owner, url=url, kind=kind)
        assert (channel.kind, channel.secret, channel.signed) == (kind, "", False)


def test_unknown_kind_and_event_types_are_refused(workflow: Workflow, workflow_owner: User):
    _refused(
        svc.MSG_BAD_KIND, "kind", workflow=workflow, actor=workflow_owner, url=SLACK, kind="irc"
    )
    _refused(
        svc.MSG_BAD_EVENT_TYPE,
        "event_types",
        workflow=workflow,
        actor=workflow_owner,
        url="https://e.com/h",
        event_types=["incident.opened", "nope.nope"],
    )


def test_choosing_event_types_is_logged_and_applies_to_the_next_event(
    workflow: Workflow, workflow_owner: User, executive: User
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://e.com/h")
    with pytest.raises(ApplicationError):
        svc.webhook_event_types_set(webhook=webhook, actor=executive, event_types=[])
    svc.webhook_event_types_set(
        webhook=webhook, actor=workflow_owner, event_types=["rollout.resumed", "rollout.paused"]
    )
    assert webhook.event_types == ["rollout.paused", "rollout.resumed"]  # the catalog's order
    entry = ActivityEntry.objects.get(verb="changed the events of a webhook")
    assert entry.changes == {"Events": ["All events", "rollout.paused, rollout.resumed"]}
    WebhookDelivery.objects.all().delete()
    record(workflow)  # paused: taken
    record(workflow, verb="opened incident")  # not chosen
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["rollout.paused"]


def test_rotation_keeps_the_old_secret_for_its_grace_period(
    workflow: Workflow, workflow_owner: User, executive: User
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://e.com/h")
    first = webhook.secret
    with pytest.raises(ApplicationError) as exc:
        svc.webhook_secret_rotate(webhook=webhook, actor=workflow_owner, grace=timedelta(days=8))
    assert (exc.value.message, exc.value.field) == (svc.MSG_BAD_GRACE, "grace_hours")
    with pytest.raises(ApplicationError):
        svc.webhook_secret_rotate(webhook=webhook, actor=executive)
    assert Webhook.objects.get().secret == first

    svc.webhook_secret_rotate(webhook=webhook, actor=workflow_owner)
    webhook.refresh_from_db()
    now = timezone.now()
    assert webhook.secret != first and webhook.secret.startswith("whsec_")
    assert webhook.secrets_in_use(now) == [webhook.secret, first]
    assert webhook.secrets_in_use(now + timedelta(hours=24, seconds=1)) == [webhook.secret]
    entry = ActivityEntry.objects.get(verb="rotated the secret of a webhook")
    assert entry.note == "The old secret stays valid for 24 hours."

    # At once: only the new one signs.
    second = webhook.secret
    svc.webhook_secret_rotate(webhook=webhook, actor=workflow_owner, grace=timedelta(0))
    assert webhook.secrets_in_use(timezone.now()) == [webhook.secret]
    assert second not in webhook.secrets_in_use(timezone.now())

    channel = svc.webhook_create(
        workflow=workflow, actor=workflow_owner, url=SLACK, kind=WebhookKind.SLACK
    )
    with pytest.raises(ApplicationError) as exc:
        svc.webhook_secret_rotate(webhook=channel, actor=workflow_owner)
    assert exc.value.message == svc.MSG_NOT_SIGNED


def test_switching_an_old_endpoint_to_the_standard_is_logged_once(
    workflow: Workflow, workflow_owner: User
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://e.com/h")
    with pytest.raises(ApplicationError) as exc:
        svc.webhook_switch_to_standard(webhook=webhook, actor=workflow_owner)
    assert exc.value.message == svc.MSG_ALREADY_STANDARD
    webhook.legacy_until = timezone.now() + timedelta(days=90)
    webhook.save()
    svc.webhook_switch_to_standard(webhook=webhook, actor=workflow_owner)
    assert Webhook.objects.get().legacy_until is None
    entry = ActivityEntry.objects.get(verb="switched the format of a webhook")
    assert entry.changes == {"Format": [svc.FORMAT_OLD, svc.FORMAT_STANDARD]}


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


def test_turning_on_one_rollout_turned_off_starts_clean(workflow: Workflow, workflow_owner: User):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    Webhook.objects.filter(pk=webhook.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason=outbox.MSG_GONE
    )
    webhook.refresh_from_db()
    svc.webhook_set_active(webhook=webhook, actor=workflow_owner, active=True)
    webhook.refresh_from_db()
    assert (webhook.active, webhook.disabled_at, webhook.disabled_reason) == (True, None, "")


def test_an_organisation_endpoint_turned_off_tells_who_added_it_or_every_ops_leader(
    ops_leader: User,
):
    channel = svc.webhook_create(workflow=None, actor=ops_leader, url=SLACK, kind="slack")
    other_leader = UserFactory(email="ops2@example.com")
    other_leader.groups.add(*ops_leader.groups.all())
    Webhook.objects.filter(pk=channel.pk).update(
        active=False, disabled_reason=outbox.MSG_GONE, disabled_unannounced=True
    )
    assert svc.webhook_disablings_announce() == 1
    assert list(ops_leader.notifications.values_list("url", flat=True)) == ["/webhooks/"]
    assert not other_leader.notifications.exists()
    # Its author gone: every ops leader hears.
    ops_leader.is_active = False
    ops_leader.save()
    Webhook.objects.filter(pk=channel.pk).update(disabled_unannounced=True)
    assert svc.webhook_disablings_announce() == 1
    assert other_leader.notifications.count() == 1
