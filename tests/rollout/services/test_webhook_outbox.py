"""Webhook and chat delivery (rollout.services.webhook_outbox): the activity hook, Standard
Webhooks signing checked by the `standardwebhooks` library as the receiver, the old format beside
it, rotation, retries on the spec's schedule, 410 and Retry-After, turning off an endpoint that
fails every attempt, chat messages to a local sink, the private-address guard."""

import json
import threading
from datetime import timedelta
from http.client import HTTPMessage

import pytest
from django.utils import timezone
from standardwebhooks import Webhook as Receiving
from standardwebhooks import WebhookVerificationError

from accounts.models import User
from rollout.lib.chat_messages import chat_message
from rollout.lib.standard_webhooks import legacy_signature, secret_generate
from rollout.models import (
    ActivityEntry,
    Notification,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookKind,
    Workflow,
)
from rollout.services import webhook_outbox as outbox
from rollout.services import webhooks as svc
from rollout.services.feedback import feedback_create
from tests.factories import make_workflow
from tests.rollout.lib.test_chat_messages import _valid_slack, _valid_teams
from tests.rollout.services.webhook_receiver import Receiver, record


def _webhook(workflow: Workflow | None, actor: User, url: str, **kwargs) -> Webhook:
    """A webhook made through the service, its own creation entry's delivery cleared."""
    webhook = svc.webhook_create(workflow=workflow, actor=actor, url=url, **kwargs)
    WebhookDelivery.objects.all().delete()
    return webhook


def _chat(workflow: Workflow | None, actor: User, kind: str, url: str) -> Webhook:
    """A chat channel whose address is the local sink: made with a real platform address (the
    service accepts only those), then pointed at the sink."""
    real = {
        WebhookKind.SLACK: "https://hooks.slack.com/services/T000/B000/XXXX",
        WebhookKind.TEAMS: "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/x",
    }[kind]
    channel = _webhook(workflow, actor, real, kind=kind)
    Webhook.objects.filter(pk=channel.pk).update(url=url)
    channel.url = url
    return channel


def _verify(webhook: Webhook, request: tuple[HTTPMessage, bytes]) -> dict:
    headers, body = request
    return Receiving(webhook.secret_shown).verify(body, dict(headers))


def test_the_activity_hook_makes_standard_events_for_active_endpoints_that_take_the_type(
    workflow: Workflow, workflow_owner: User, ops_leader: User
):
    on = _webhook(workflow, workflow_owner, "https://a.example/h")
    off = _webhook(workflow, workflow_owner, "https://b.example/h")
    svc.webhook_set_active(webhook=off, actor=workflow_owner, active=False)
    incidents_only = _webhook(
        workflow, workflow_owner, "https://c.example/h", event_types=["incident.opened"]
    )
    organisation = _webhook(None, ops_leader, "https://org.example/h")
    elsewhere = make_workflow(actor=ops_leader)
    WebhookDelivery.objects.all().delete()

    entry = record(workflow, workflow_owner)
    other = record(elsewhere)

    assert {(d.webhook, d.activity) for d in WebhookDelivery.objects.all()} == {
        (on, entry),
        (organisation, entry),
        (organisation, other),
    }
    assert incidents_only.pk and off.pk  # neither got anything
    delivery = WebhookDelivery.objects.get(webhook=on)
    assert (delivery.status, delivery.event_type, delivery.legacy) == (
        "pending",
        "rollout.paused",
        False,
    )
    assert delivery.payload == {
        "type": "rollout.paused",
        "timestamp": entry.created_at.isoformat(),
        "data": {
            "id": entry.pk,
            "workflow": {"slug": "support-reply-drafting", "name": "Support reply drafting"},
            "actor": {"name": "Owen Owner", "email": "owner@example.com"},
            "verb": "paused",
            "target": "Shadow mode",
            "summary": "Owen Owner paused Shadow mode",
            "changes": {"Status": ["Active", "Paused"]},
            "note": "Too many wrong replies",
            "url": "http://localhost:8000/workflows/support-reply-drafting/",
        },
    }


def test_the_hook_costs_one_query_when_there_is_no_endpoint(
    workflow: Workflow, django_assert_num_queries
):
    entry = ActivityEntry.objects.create(workflow=workflow, verb="x", target="y")
    with django_assert_num_queries(1):
        assert outbox.webhook_deliveries_create(entry) == 0


def test_a_delivery_is_verified_by_the_standard_library_and_never_resent(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _webhook(workflow, workflow_owner, receiver.url)
    assert webhook.secret.startswith("whsec_")
    record(workflow, workflow_owner)

    assert outbox.webhook_deliveries_send_due() == 1
    assert outbox.webhook_deliveries_send_due() == 0  # sent: a second sweep finds nothing due

    ((headers, body),) = receiver.requests
    delivery = WebhookDelivery.objects.get()
    assert headers["webhook-id"] == f"msg_{delivery.pk}"
    assert headers["Content-Type"] == "application/json"
    # New endpoints get the standard only.
    assert "X-Rollout-Signature" not in headers and "X-Rollout-Event-Id" not in headers
    assert _verify(webhook, (headers, body))["type"] == "rollout.paused"
    # A tampered body, or another secret, fails verification.
    with pytest.raises(WebhookVerificationError):
        Receiving(webhook.secret).verify(body.replace(b"paused", b"resumed"), dict(headers))
    with pytest.raises(WebhookVerificationError):
        Receiving(secret_generate()).verify(body, dict(headers))
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 1, 204)
    assert delivery.delivered_at is not None
    (attempt,) = WebhookAttempt.objects.all()
    assert (attempt.delivery, attempt.number, attempt.response_status, attempt.error) == (
        delivery,
        1,
        204,
        "",
    )
    # Asking for this exact delivery again does nothing either.
    assert outbox.webhook_delivery_send(delivery_id=delivery.pk) is False
    assert len(receiver.requests) == 1


def test_a_stale_timestamp_fails_verification_so_each_retry_is_signed_afresh(
    workflow: Workflow, workflow_owner: User, receiver: Receiver, monkeypatch
):
    webhook = _webhook(workflow, workflow_owner, receiver.url)
    record(workflow, workflow_owner)
    real_now = outbox.unix_now()
    monkeypatch.setattr(outbox, "unix_now", lambda: real_now - 600)  # signed ten minutes ago
    receiver.status = 500
    outbox.webhook_deliveries_send_due()
    with pytest.raises(WebhookVerificationError):
        _verify(webhook, receiver.requests[0])

    monkeypatch.setattr(outbox, "unix_now", lambda: real_now)
    receiver.status = 200
    delivery = WebhookDelivery.objects.get()
    assert outbox.webhook_deliveries_send_due(now=delivery.next_attempt_at) == 1
    first, second = receiver.requests
    assert first[0]["webhook-id"] == second[0]["webhook-id"]  # stable across retries
    assert first[0]["webhook-timestamp"] != second[0]["webhook-timestamp"]
    assert _verify(webhook, second)["data"]["verb"] == "paused"


def test_during_a_rotation_both_signatures_go_and_either_secret_verifies(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _webhook(workflow, workflow_owner, receiver.url)
    old = Webhook(secret=webhook.secret)
    svc.webhook_secret_rotate(webhook=webhook, actor=workflow_owner)
    WebhookDelivery.objects.all().delete()
    record(workflow, workflow_owner)
    outbox.webhook_deliveries_send_due()

    ((headers, body),) = receiver.requests
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert _verify(webhook, (headers, body))["type"] == "rollout.paused"
    assert _verify(old, (headers, body))["type"] == "rollout.paused"

    # After the grace period only the new secret signs.
    Webhook.objects.filter(pk=webhook.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    record(workflow, workflow_owner, verb="resumed")
    outbox.webhook_deliveries_send_due()
    headers, body = receiver.requests[1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert _verify(webhook, (headers, body))["type"] == "rollout.resumed"
    with pytest.raises(WebhookVerificationError):
        _verify(old, (headers, body))


def _legacy(workflow: Workflow, actor: User, url: str) -> Webhook:
    """An endpoint as it was before Standard Webhooks, after the migration: its old secret, the
    old format for 90 days."""
    webhook = _webhook(workflow, actor, url)
    Webhook.objects.filter(pk=webhook.pk).update(
        secret="old-token_urlsafe-secret-of-43-characters-x",
        legacy_until=timezone.now() + timedelta(days=90),
    )
    webhook.refresh_from_db()
    return webhook


def test_an_old_endpoint_gets_the_old_body_and_headers_beside_the_standard_until_switched(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _legacy(workflow, workflow_owner, receiver.url)
    entry = record(workflow, workflow_owner)
    outbox.webhook_deliveries_send_due()

    ((headers, body),) = receiver.requests
    # Unchanged for the receiver that has not moved: the old body, signature and event id…
    assert json.loads(body) == {
        "id": entry.pk,
        "workflow": "support-reply-drafting",
        "verb": "paused",
        "target": "Shadow mode",
        "changes": {"Status": ["Active", "Paused"]},
        "note": "Too many wrong replies",
        "actor": {"name": "Owen Owner", "email": "owner@example.com"},
        "at": entry.created_at.isoformat(),
    }
    assert headers["X-Rollout-Signature"] == legacy_signature(webhook.secret, body)
    assert headers["X-Rollout-Event-Id"] == str(entry.pk)
    # …and a standard library verifies the same request with the same key, shown as whsec_.
    assert webhook.secret_shown.startswith("whsec_")
    assert _verify(webhook, (headers, body))["verb"] == "paused"

    svc.webhook_switch_to_standard(webhook=webhook, actor=workflow_owner)
    WebhookDelivery.objects.filter(status="pending").delete()  # the switch's own entry
    record(workflow, workflow_owner, verb="resumed")
    outbox.webhook_deliveries_send_due()
    headers, body = receiver.requests[1]
    assert "X-Rollout-Signature" not in headers
    assert _verify(webhook, (headers, body))["type"] == "rollout.resumed"


def test_an_old_endpoint_moves_to_the_standard_by_itself_after_its_90_days(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _legacy(workflow, workflow_owner, receiver.url)
    Webhook.objects.filter(pk=webhook.pk).update(legacy_until=timezone.now())
    record(workflow, workflow_owner)
    outbox.webhook_deliveries_send_due()
    ((headers, body),) = receiver.requests
    assert "X-Rollout-Signature" not in headers
    assert _verify(webhook, (headers, body))["type"] == "rollout.paused"


def test_failures_are_retried_on_the_schedule_then_the_endpoint_is_turned_off_and_owner_told(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _webhook(workflow, workflow_owner, receiver.url)
    record(workflow)
    receiver.status = 500
    now = timezone.now()
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert outbox.webhook_deliveries_send_due(now=now) == 0
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            "failed",
            attempt,
            500,
        )
        assert delivery.last_error == "The receiver answered HTTP 500."
        waits.append(delivery.next_attempt_at - now)
        # Not due before its time…
        early = delivery.next_attempt_at - timedelta(seconds=1)
        assert outbox.webhook_deliveries_send_due(now=early) == 0
        now = delivery.next_attempt_at
    # About 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, each within 10% jitter.
    for wait, scheduled in zip(waits, outbox.RETRY_SCHEDULE, strict=False):
        assert scheduled * 0.9 <= wait <= scheduled * 1.1
    assert len(receiver.requests) == outbox.MAX_ATTEMPTS == 10
    assert WebhookAttempt.objects.count() == 10
    webhook.refresh_from_db()
    assert (webhook.active, webhook.disabled_unannounced) == (False, True)
    assert webhook.disabled_reason == outbox.MSG_EXHAUSTED.format(
        error="The receiver answered HTTP 500."
    )
    # The task's other half logs it and tells the owner, once.
    assert svc.webhook_disablings_announce() == 1
    assert svc.webhook_disablings_announce() == 0
    entry = ActivityEntry.objects.get(verb="turned off a webhook")
    assert (entry.actor, entry.note) == (None, webhook.disabled_reason)
    (notification,) = Notification.objects.filter(recipient=workflow_owner)
    assert notification.title.startswith("Rollout turned off a webhook: http://127.0.0.1")
    assert notification.url == "/workflows/support-reply-drafting/webhooks/"
    # Nothing more goes out.
    assert outbox.webhook_deliveries_send_due(now=now + timedelta(days=2)) == 0
    assert len(receiver.requests) == 10


def test_one_event_given_up_does_not_turn_off_an_endpoint_that_delivered_since(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _webhook(workflow, workflow_owner, receiver.url)
    record(workflow)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
    record(workflow, verb="resumed")
    outbox.webhook_deliveries_send_due()  # both go out…
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    receiver.status = 500  # …but say the first one's last try failed
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=outbox.MAX_ATTEMPTS - 1, next_attempt_at=timezone.now()
    )
    WebhookAttempt.objects.filter(delivery=delivery).delete()
    outbox.webhook_deliveries_send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    webhook.refresh_from_db()
    assert webhook.active


def test_a_410_turns_the_endpoint_off_at_once_and_skips_what_waits(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = _webhook(workflow, workflow_owner, receiver.url)
    record(workflow)
    record(workflow, verb="resumed")
    receiver.status = 410
    first = WebhookDelivery.objects.order_by("pk").first()

    assert outbox.webhook_delivery_send(delivery_id=first.pk) is False

    webhook.refresh_from_db()
    assert (webhook.active, webhook.disabled_reason) == (False, outbox.MSG_GONE)
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses[first.pk] == "failed"
    assert set(statuses.values()) == {"failed", "skipped"}
    assert outbox.webhook_deliveries_send_due(now=timezone.now() + timedelta(days=1)) == 0
    assert len(receiver.requests) == 1
    assert svc.webhook_disablings_announce() == 1
    assert Notification.objects.filter(recipient=workflow_owner).count() == 1


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_honour_retry_after(
    status: int, workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    _webhook(workflow, workflow_owner, receiver.url)
    record(workflow)
    receiver.status = status
    receiver.answer_headers = {"Retry-After": "120"}
    now = timezone.now()
    outbox.webhook_deliveries_send_due(now=now)
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at - now == timedelta(seconds=120)
    assert delivery.last_error == f"The receiver answered HTTP {status}."


def test_retry_after_as_seconds_or_date_within_bounds():
    now = timezone.now().replace(microsecond=0)
    in_ten_minutes = (now + timedelta(minutes=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert outbox.retry_after(in_ten_minutes, now) == timedelta(minutes=10)
    assert outbox.retry_after("0", now) == outbox.RETRY_AFTER_MIN
    assert outbox.retry_after("99999999999", now) == outbox.RETRY_AFTER_MAX
    assert outbox.retry_after("soon", now) is None
    assert outbox.retry_after(None, now) is None


def test_a_failure_then_success(workflow: Workflow, workflow_owner: User, receiver: Receiver):
    _webhook(workflow, workflow_owner, receiver.url)
    record(workflow)
    receiver.status = 500
    now = timezone.now()
    outbox.webhook_deliveries_send_due(now=now)
    receiver.status = 200
    assert outbox.webhook_deliveries_send_due(now=now + timedelta(minutes=1)) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert list(WebhookAttempt.objects.values_list("number", "response_status")) == [
        (1, 500),
        (2, 200),
    ]


def test_an_unreachable_receiver_and_a_redirect_are_failures(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    closed = Receiver()
    closed.close()  # nothing listens on its port any more
    _webhook(workflow, workflow_owner, closed.url)
    record(workflow)
    outbox.webhook_deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("failed", None)
    assert delivery.last_error.startswith("Could not reach the receiver:")

    receiver.status = 302
    receiver.answer_headers = {"Location": receiver.url + "/moved"}
    webhook = Webhook.objects.get()
    Webhook.objects.filter(pk=webhook.pk).update(url=receiver.url)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    outbox.webhook_deliveries_send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("failed", 302)
    assert delivery.last_error == (
        "The receiver answered HTTP 302. A redirect is not followed: enter the new address."
    )
    assert len(receiver.requests) == 1  # the redirect was not followed


@pytest.mark.parametrize("kind", [WebhookKind.SLACK, WebhookKind.TEAMS])
def test_a_chat_channel_gets_its_message_unsigned_with_a_plain_link(
    kind: str, workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    channel = _chat(workflow, workflow_owner, kind, receiver.url)
    assert channel.secret == ""
    record(workflow, workflow_owner)

    assert outbox.webhook_deliveries_send_due() == 1

    ((headers, body),) = receiver.requests
    delivery = WebhookDelivery.objects.get()
    assert json.loads(body) == chat_message(kind, delivery.payload)
    # What the platform gets passes its own checks (slack-sdk's block models; the Adaptive Card
    # 1.5 schema), and says what changed.
    if kind == WebhookKind.SLACK:
        _valid_slack(json.loads(body))
    else:
        _valid_teams(json.loads(body))
    assert "Active" in body.decode() and "Paused" in body.decode()
    assert not any(name.lower().startswith("webhook-") for name in headers)
    assert b"http://localhost:8000/workflows/support-reply-drafting/" in body
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_an_organisation_channel_hears_every_workflow_and_retries_like_a_webhook(
    workflow: Workflow, workflow_owner: User, ops_leader: User, receiver: Receiver
):
    _chat(None, ops_leader, WebhookKind.SLACK, receiver.url)
    elsewhere = make_workflow(actor=ops_leader, name="Invoice triage", slug="invoice-triage")
    WebhookDelivery.objects.all().delete()
    record(workflow)
    record(elsewhere)
    receiver.status = 503
    now = timezone.now()
    assert outbox.webhook_deliveries_send_due(now=now) == 0
    receiver.status = 200
    assert outbox.webhook_deliveries_send_due(now=now + timedelta(seconds=6)) == 2
    texts = sorted(json.loads(body)["text"] for _, body in receiver.requests[2:])
    assert texts[0].endswith("/workflows/invoice-triage/")
    assert texts[1].endswith("/workflows/support-reply-drafting/")


def test_after_commit_a_wake_up_task_sends_at_once(
    workflow: Workflow,
    workflow_owner: User,
    receiver: Receiver,
    django_capture_on_commit_callbacks,
    settings,
):
    _webhook(workflow, workflow_owner, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        record(workflow)
    assert WebhookDelivery.objects.get().status == "sent"
    assert len(receiver.requests) == 1
    # The every-minute sweep catches retries and lost wake-ups.
    beat = settings.CELERY_BEAT_SCHEDULE["send-webhooks"]
    assert (beat["task"], beat["schedule"]) == ("rollout.tasks.send_webhooks", timedelta(minutes=1))


def test_a_private_or_loopback_address_is_refused_at_send_time(
    workflow: Workflow, workflow_owner: User, receiver: Receiver, settings
):
    _webhook(workflow, workflow_owner, receiver.url)
    record(workflow)
    settings.ROLLOUT_WEBHOOKS_ALLOW_PRIVATE = False  # production: SSRF guard on

    assert outbox.webhook_deliveries_send_due() == 0

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_error == outbox.MSG_PRIVATE_ADDRESS.format(
        host="127.0.0.1", ip="127.0.0.1"
    )
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/h", "http://169.254.169.254/latest", "http://[::1]/h"]
)
def test_private_ranges_and_metadata_are_detected(url, settings):
    settings.ROLLOUT_WEBHOOKS_ALLOW_PRIVATE = False
    assert outbox._private_address(url) is not None


class GarbageReceiver:
    """A TCP server on 127.0.0.1 that answers every connection with bytes that are not HTTP."""

    def __init__(self) -> None:
        import socketserver

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(65536)
                self.request.sendall(b"NOT HTTP AT ALL\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_receiver_answering_garbage_fails_its_own_rows_and_the_sweep_goes_on(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    """Issue 13, "every sender isolates failures per row": http.client raises BadStatusLine (not
    an OSError) for an answer that is not HTTP. That row fails with the reason and is retried
    with backoff like any failed answer; the other webhook's rows all go out."""
    garbage = GarbageReceiver()
    try:
        _webhook(workflow, workflow_owner, garbage.url)
        _webhook(workflow, workflow_owner, receiver.url)
        for verb in ("paused", "resumed", "promoted"):
            record(workflow, workflow_owner, verb=verb)

        assert outbox.webhook_deliveries_send_due() == 3
    finally:
        garbage.close()

    assert sorted(json.loads(body)["data"]["verb"] for _, body in receiver.requests) == [
        "paused",
        "promoted",
        "resumed",
    ]
    failed = WebhookDelivery.objects.filter(webhook__url=garbage.url)
    assert {(d.status, d.attempts) for d in failed} == {("failed", 1)}
    assert all("BadStatusLine" in d.last_error for d in failed)


def test_an_address_that_cannot_be_requested_is_given_up_at_once(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    """A URL with a line break stored before validation existed: http.client refuses it, and it
    would refuse it every time."""
    bad = _webhook(workflow, workflow_owner, receiver.url)
    Webhook.objects.filter(pk=bad.pk).update(url=receiver.url + "\r\nX-Injected: 1")
    record(workflow, workflow_owner)

    assert outbox.webhook_deliveries_send_due() == 0

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert delivery.last_error.startswith("The address cannot be requested: InvalidURL")
    assert outbox.webhook_deliveries_send_due(now=timezone.now() + timedelta(days=1)) == 0
    assert receiver.requests == []
    bad.refresh_from_db()
    assert not bad.active


def test_a_send_that_crashes_counts_as_a_failed_attempt_and_the_others_go_out(
    workflow: Workflow, workflow_owner: User, receiver: Receiver, monkeypatch
):
    broken = _webhook(workflow, workflow_owner, "https://a.example/h")
    _webhook(workflow, workflow_owner, receiver.url)
    record(workflow, workflow_owner)
    real_post = outbox._post

    def post(webhook, delivery):
        if webhook.pk == broken.pk:
            raise RuntimeError("a bug")
        return real_post(webhook, delivery)

    monkeypatch.setattr(outbox, "_post", post)

    assert outbox.webhook_deliveries_send_due() == 1

    crashed = WebhookDelivery.objects.get(webhook=broken)
    assert (crashed.status, crashed.attempts, crashed.last_error) == (
        "failed",
        1,
        "RuntimeError: a bug",
    )
    assert crashed.next_attempt_at > timezone.now()
    assert list(crashed.attempt_log.values_list("number", "error")) == [(1, "RuntimeError: a bug")]
    assert len(receiver.requests) == 1


def test_one_sweep_sends_everything_due_even_beyond_one_batch(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    """Issue 13, item 8, for webhooks: the sender keeps going while rows are due. Three webhooks
    and 50 entries: 150 deliveries, more than one batch of 100."""
    for n in range(3):
        _webhook(workflow, workflow_owner, f"{receiver.url}/{n}")
    for n in range(50):
        record(workflow, workflow_owner, verb=f"changed {n}")

    assert outbox.webhook_deliveries_send_due() == 150

    assert len(receiver.requests) == 150
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_sweep_out_of_time_hands_the_rest_to_a_new_run(
    workflow: Workflow, workflow_owner: User, receiver: Receiver, monkeypatch
):
    _webhook(workflow, workflow_owner, receiver.url)
    for verb in ("paused", "resumed"):
        record(workflow, workflow_owner, verb=verb)
    woken: list[str] = []
    monkeypatch.setattr(outbox, "SWEEP_BATCH", 1)
    monkeypatch.setattr(outbox, "wake", lambda name, *args: woken.append(name))

    assert outbox.webhook_deliveries_send_due(budget=0) == 1

    assert woken == ["rollout.tasks.send_webhooks"]
    assert WebhookDelivery.objects.filter(status="pending").count() == 1


def test_new_feedback_is_an_event_of_its_own_but_not_for_old_format_endpoints(
    workflow: Workflow, workflow_owner: User, ops_leader: User, receiver: Receiver
):
    webhook = _webhook(workflow, workflow_owner, receiver.url, event_types=["feedback.created"])
    _legacy(workflow, workflow_owner, receiver.url + "/old")
    feedback = feedback_create(
        workflow=workflow,
        author=workflow_owner,
        rating="not_helpful",
        category="wrong_output",
        text="It quoted the wrong refund policy to a customer",
    )

    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.webhook, delivery.activity, delivery.event_type) == (
        webhook,
        None,
        "feedback.created",
    )
    assert outbox.webhook_deliveries_send_due() == 1
    event = _verify(webhook, receiver.requests[0])
    assert event["data"] == {
        "id": feedback.pk,
        "workflow": {"slug": "support-reply-drafting", "name": "Support reply drafting"},
        "actor": None,  # a channel is read by many: not who gave it
        "verb": "gave feedback",
        "target": f"feedback #{feedback.pk}",
        # The public title: the first eight words.
        "summary": "New feedback on Support reply drafting: Not helpful, Wrong output: It "
        "quoted the wrong refund policy to a…",
        "changes": {},
        "note": "",
        "url": f"http://localhost:8000/workflows/support-reply-drafting/feedback/{feedback.pk}/",
    }
