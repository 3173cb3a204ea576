"""Webhook delivery (rollout.services.webhook_outbox): the activity hook, signing, sending to a
real HTTP server, retries, the private-address guard."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.models import ActivityEntry, Webhook, WebhookDelivery, Workflow
from rollout.services import webhook_outbox as outbox
from rollout.services import webhooks as svc
from tests.factories import make_workflow
from tests.rollout.services.webhook_receiver import Receiver, record


def test_the_activity_hook_makes_deliveries_for_active_webhooks_only(
    workflow: Workflow, workflow_owner: User, ops_leader: User
):
    on = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    off = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://b.example/h")
    svc.webhook_set_active(webhook=off, actor=workflow_owner, active=False)
    elsewhere = make_workflow(actor=ops_leader)
    WebhookDelivery.objects.all().delete()

    entry = record(workflow, workflow_owner)
    record(elsewhere)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.webhook, delivery.activity, delivery.status) == (on, entry, "pending")
    assert delivery.payload == {
        "id": entry.pk,
        "workflow": "support-reply-drafting",
        "verb": "paused",
        "target": "Shadow mode",
        "changes": {"Status": ["Active", "Paused"]},
        "note": "Too many wrong replies",
        "actor": {"name": "Owen Owner", "email": "owner@example.com"},
        "at": entry.created_at.isoformat(),
    }


def test_the_hook_costs_one_query_when_the_workflow_has_no_webhooks(
    workflow: Workflow, django_assert_num_queries
):
    entry = ActivityEntry.objects.create(workflow=workflow, verb="x", target="y")
    with django_assert_num_queries(1):
        assert outbox.webhook_deliveries_create(entry) == 0


def test_a_delivery_reaches_a_real_server_signed_and_is_never_resent(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
    entry = record(workflow, workflow_owner)

    assert outbox.webhook_deliveries_send_due() == 1
    assert outbox.webhook_deliveries_send_due() == 0  # sent: a second sweep finds nothing due

    ((headers, body),) = receiver.requests
    expected = hmac.new(webhook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Rollout-Signature"] == f"sha256={expected}"
    assert headers["X-Rollout-Event-Id"] == str(entry.pk)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["verb"] == "paused"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 1, 204)
    assert delivery.delivered_at is not None
    # Asking for this exact delivery again does nothing either.
    assert outbox.webhook_delivery_send(delivery_id=delivery.pk) is False
    assert len(receiver.requests) == 1


def test_failures_are_retried_with_exponential_backoff_then_given_up(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
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
        assert (
            outbox.webhook_deliveries_send_due(now=delivery.next_attempt_at - timedelta(seconds=1))
            == 0
        )
        now = delivery.next_attempt_at
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64, 128)]
    assert len(receiver.requests) == outbox.MAX_ATTEMPTS
    # …and given up after the last attempt.
    assert outbox.webhook_deliveries_send_due(now=now + timedelta(days=1)) == 0
    assert len(receiver.requests) == outbox.MAX_ATTEMPTS


def test_a_failure_then_success(workflow: Workflow, workflow_owner: User, receiver: Receiver):
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
    record(workflow)
    receiver.status = 503
    now = timezone.now()
    outbox.webhook_deliveries_send_due(now=now)
    receiver.status = 200
    assert outbox.webhook_deliveries_send_due(now=now + timedelta(minutes=1)) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")


def test_an_unreachable_receiver_and_a_redirect_are_failures(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    closed = Receiver()
    closed.close()  # nothing listens on its port any more
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=closed.url)
    WebhookDelivery.objects.all().delete()
    record(workflow)
    outbox.webhook_deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("failed", None)
    assert delivery.last_error.startswith("Could not reach the receiver:")

    receiver.status = 302
    webhook = Webhook.objects.get()
    Webhook.objects.filter(pk=webhook.pk).update(url=receiver.url)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    outbox.webhook_deliveries_send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("failed", 302)


def test_signature_is_hmac_sha256_of_the_exact_body():
    body = b'{"id":1}'
    assert outbox.webhook_signature("s3cret", body) == (
        "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    )


def test_after_commit_a_wake_up_task_sends_at_once(
    workflow: Workflow,
    workflow_owner: User,
    receiver: Receiver,
    django_capture_on_commit_callbacks,
    settings,
):
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
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
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
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
        svc.webhook_create(workflow=workflow, actor=workflow_owner, url=garbage.url)
        svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
        WebhookDelivery.objects.all().delete()
        for verb in ("paused", "resumed", "promoted"):
            record(workflow, workflow_owner, verb=verb)

        assert outbox.webhook_deliveries_send_due() == 3
    finally:
        garbage.close()

    assert sorted(json.loads(body)["verb"] for _, body in receiver.requests) == [
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
    bad = svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    Webhook.objects.filter(pk=bad.pk).update(url=receiver.url + "\r\nX-Injected: 1")
    WebhookDelivery.objects.all().delete()
    record(workflow, workflow_owner)

    assert outbox.webhook_deliveries_send_due() == 0

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert delivery.last_error.startswith("The address cannot be requested: InvalidURL")
    assert outbox.webhook_deliveries_send_due(now=timezone.now() + timedelta(days=1)) == 0
    assert receiver.requests == []


def test_a_send_that_crashes_counts_as_a_failed_attempt_and_the_others_go_out(
    workflow: Workflow, workflow_owner: User, receiver: Receiver, monkeypatch
):
    broken = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
    record(workflow, workflow_owner)
    real_post = outbox._post

    def post(webhook, payload, event_id):
        if webhook.pk == broken.pk:
            raise RuntimeError("a bug")
        return real_post(webhook, payload, event_id)

    monkeypatch.setattr(outbox, "_post", post)

    assert outbox.webhook_deliveries_send_due() == 1

    crashed = WebhookDelivery.objects.get(webhook=broken)
    assert (crashed.status, crashed.attempts, crashed.last_error) == (
        "failed",
        1,
        "RuntimeError: a bug",
    )
    assert crashed.next_attempt_at > timezone.now()
    assert len(receiver.requests) == 1


def test_one_sweep_sends_everything_due_even_beyond_one_batch(
    workflow: Workflow, workflow_owner: User, receiver: Receiver
):
    """Issue 13, item 8, for webhooks: the sender keeps going while rows are due. Three webhooks
    and 50 entries: 150 deliveries, more than one batch of 100."""
    for n in range(3):
        svc.webhook_create(workflow=workflow, actor=workflow_owner, url=f"{receiver.url}/{n}")
    WebhookDelivery.objects.all().delete()
    for n in range(50):
        record(workflow, workflow_owner, verb=f"changed {n}")

    assert outbox.webhook_deliveries_send_due() == 150

    assert len(receiver.requests) == 150
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_sweep_out_of_time_hands_the_rest_to_a_new_run(
    workflow: Workflow, workflow_owner: User, receiver: Receiver, monkeypatch
):
    svc.webhook_create(workflow=workflow, actor=workflow_owner, url=receiver.url)
    WebhookDelivery.objects.all().delete()
    for verb in ("paused", "resumed"):
        record(workflow, workflow_owner, verb=verb)
    woken: list[str] = []
    monkeypatch.setattr(outbox, "SWEEP_BATCH", 1)
    monkeypatch.setattr(outbox, "wake", lambda name, *args: woken.append(name))

    assert outbox.webhook_deliveries_send_due(budget=0) == 1

    assert woken == ["rollout.tasks.send_webhooks"]
    assert WebhookDelivery.objects.filter(status="pending").count() == 1
