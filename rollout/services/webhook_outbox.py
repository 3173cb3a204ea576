"""Outgoing webhooks and chat channels, their delivery: every activity-log entry of a workflow
becomes an event (rollout.lib.webhook_events) POSTed to each active endpoint of the workflow and
of the organisation that takes its type — signed per Standard Webhooks for a webhook, as a Slack
or Teams message (rollout.lib.chat_messages, unsigned, a plain link) for a chat channel.

Delivery is at least once: one `WebhookDelivery` row per (endpoint, entry), written in the
transaction of the change (rollout.services.activity calls `webhook_deliveries_create`); a sweep
claims due rows with SELECT … FOR UPDATE SKIP LOCKED, POSTs, records the attempt, then marks the
row. A row marked sent is never sent again; a crash between the POST and the mark sends it again,
so receivers deduplicate on `webhook-id` (the row's id, the same on every retry).

As the spec recommends ("Deliverability and reliability"): retries on RETRY_SCHEDULE with jitter;
only a 2xx answer is success, a redirect is a failure; 429 and 503 answers' Retry-After is
honoured; 410 Gone turns the endpoint off, and so does a delivery that failed every attempt with
nothing delivered to the endpoint since. Turning it off is marked on the row
(`disabled_unannounced`): rollout.services.webhooks logs it and tells the owner (a floor up,
where the activity log and notifications are). Configuration is rollout.services.webhooks.
"""

import email.utils
import http.client
import ipaddress
import json
import logging
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.mail import failure_reason
from core.wake import wake
from rollout.lib import standard_webhooks
from rollout.lib.chat_messages import chat_message
from rollout.lib.webhook_events import event_build
from rollout.models import (
    ActivityEntry,
    DeliveryStatus,
    Feedback,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from rollout.selectors.feedback import feedback_title, feedback_url

logger = logging.getLogger(__name__)

LEGACY_SIGNATURE_HEADER = "X-Rollout-Signature"
LEGACY_EVENT_ID_HEADER = "X-Rollout-Event-Id"
# The spec recommends giving receivers 15 to 30 seconds to answer.
TIMEOUT_SECONDS = 15
# After the first attempt, Standard Webhooks' example schedule (about three days in all).
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.1  # each wait is stretched or shrunk by up to 10%, so retries do not come in waves
# A Retry-After (429, 503) replaces the schedule's wait, kept between these bounds: a receiver
# cannot make us hammer it, nor park its events for longer than the longest scheduled wait.
RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_AFTER_MIN = timedelta(seconds=5)
RETRY_AFTER_MAX = timedelta(hours=24)
SWEEP_BATCH = 100
SEND_BUDGET = 180.0  # seconds of sending per run before handing over (task soft limit: 240)
ERROR_MAX = 1000

MSG_TURNED_OFF = "Not sent: the webhook was turned off before it was delivered."
MSG_GONE = (
    "The receiver answered 410 Gone: it no longer wants these events, so Rollout turned it off."
)
MSG_EXHAUSTED = (
    "Every attempt to deliver an event failed over about three days, with nothing delivered "
    "since, so Rollout turned it off. Last error: {error}"
)
MSG_PRIVATE_ADDRESS = (
    "Refused: {host} resolves to a private, loopback or reserved address ({ip}). Webhooks go "
    "to public addresses only."
)


def webhook_payload(entry: ActivityEntry) -> dict:
    """The pre-standard body, still sent to endpoints that have not switched (README "Legacy
    format")."""
    actor = entry.actor
    return {
        "id": entry.pk,
        "workflow": entry.workflow.slug if entry.workflow else None,
        "verb": entry.verb,
        "target": entry.target,
        "changes": entry.changes,
        "note": entry.note,
        "actor": {"name": actor.display_name, "email": actor.email} if actor else None,
        "at": entry.created_at.isoformat(),
    }


def webhook_event(entry: ActivityEntry) -> dict[str, Any]:
    """The Standard Webhooks event of an entry (rollout.lib.webhook_events.event_build)."""
    workflow, actor = entry.workflow, entry.actor
    url = settings.SITE_URL
    if workflow is not None:
        url += reverse("workflow_overview", kwargs={"slug": workflow.slug})
    return event_build(
        entry_id=entry.pk,
        timestamp=entry.created_at,
        verb=entry.verb,
        target=entry.target,
        changes=entry.changes,
        note=entry.note,
        workflow={"slug": workflow.slug, "name": workflow.name} if workflow else None,
        actor={"name": actor.display_name, "email": actor.email} if actor else None,
        url=url,
    )


def _body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_deliveries_create(entry: ActivityEntry) -> int:
    """The activity hook: one pending delivery per active endpoint of the entry's workflow or of
    the organisation that takes the entry's type, in the entry's transaction. One query when
    there is none. Returns how many were made."""
    if entry.workflow_id is None:
        return 0
    return _enqueue(entry.workflow_id, lambda: webhook_event(entry), entry)


def webhook_feedback_event(feedback: Feedback) -> dict[str, Any]:
    """The `feedback.created` event: which workflow, the rating and the report's public title
    (rollout.selectors.feedback), a link to it. Not its author: a channel is read by many."""
    workflow = feedback.workflow
    what = f"{feedback.get_rating_display()}, {feedback_title(feedback)}"
    return event_build(
        entry_id=feedback.pk,
        timestamp=feedback.created_at,
        verb="gave feedback",
        target=f"feedback #{feedback.pk}",
        changes={},
        note="",
        workflow={"slug": workflow.slug, "name": workflow.name},
        actor=None,
        url=settings.SITE_URL + feedback_url(feedback),
        summary=f"New feedback on {workflow.name}: {what}",
    )


def webhook_deliveries_create_for_feedback(feedback: Feedback) -> int:
    """New feedback is not an activity entry (there would be one per report), but its own event:
    called by rollout.services.feedback when a report is filed. Old-format endpoints never got
    feedback and do not now. Returns how many deliveries were made."""
    return _enqueue(feedback.workflow_id, lambda: webhook_feedback_event(feedback), None)


def _enqueue(
    workflow_id: int, build: Callable[[], dict[str, Any]], entry: ActivityEntry | None
) -> int:
    endpoints = list(
        Webhook.objects.filter(Q(workflow_id=workflow_id) | Q(workflow__isnull=True), active=True)
    )
    if not endpoints:
        return 0
    event = build()
    now = timezone.now()
    endpoints = [
        e
        for e in endpoints
        if e.accepts(event["type"]) and (entry is not None or not e.legacy(now))
    ]
    old_body = webhook_payload(entry) if entry and any(e.legacy(now) for e in endpoints) else None
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook=endpoint,
                activity=entry,
                event_type=event["type"],
                payload=old_body if endpoint.legacy(now) else event,
                legacy=endpoint.legacy(now),
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
    )
    if endpoints:
        wake("rollout.tasks.send_webhooks")
    return len(endpoints)


def retry_delay(attempts: int, *, jitter: float | None = None) -> timedelta:
    """How long after the `attempts`-th failed attempt the next one is due: RETRY_SCHEDULE's
    wait, times a random factor within 1 ± JITTER (or the `jitter` factor given)."""
    wait = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    factor = jitter if jitter is not None else random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
    return wait * factor


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header's wait (seconds, or an HTTP date), within RETRY_AFTER_MIN and
    RETRY_AFTER_MAX; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = when - now
    return min(max(wait, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


def _due(now: datetime):
    return WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
        attempts__lt=MAX_ATTEMPTS,
        next_attempt_at__lte=now,
        webhook__active=True,
    )


def webhook_deliveries_send_due(*, now: datetime | None = None, budget: float = SEND_BUDGET) -> int:
    """The sweep: send every due delivery (new, or failed and its retry time come), batch after
    batch until none is left, handing over to a new run after `budget` seconds. Safe to run in
    several workers at once: each row is claimed under a row lock. A row that crashes its send
    is marked failed with the reason and the sweep goes on. Returns how many went out."""
    now = now or timezone.now()
    started = time.monotonic()
    tried: set[int] = set()  # rows another worker holds stay due: not again in this run
    sent = 0
    while True:
        due = list(
            _due(now)
            .exclude(pk__in=tried)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        for pk in due:
            tried.add(pk)
            try:
                sent += webhook_delivery_send(delivery_id=pk, now=now)
            except (SoftTimeLimitExceeded, DatabaseError):
                raise  # not this row's fault
            except Exception as exc:
                logger.exception("Webhook delivery %s crashed", pk)
                _mark_crashed(pk, exc, now)
        if len(due) < SWEEP_BATCH:
            return sent
        if time.monotonic() - started > budget:
            wake("rollout.tasks.send_webhooks")  # a fresh run goes on; the sweep is the net
            return sent


def _mark_crashed(delivery_id: int, exc: Exception, now: datetime) -> None:
    """A send that raised (a bug, not an answer): count the attempt and back off like any
    failure, so the row can neither block the others nor be tried forever."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status == DeliveryStatus.SENT:
            return
        delivery.attempts += 1
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = failure_reason(exc)
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.save(update_fields=["attempts", "status", "last_error", "next_attempt_at"])
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            at=timezone.now(),
            error=delivery.last_error,
        )


@dataclass(frozen=True)
class Answer:
    """What one POST came to."""

    status: int | None  # the HTTP status, None when there was no HTTP answer
    error: str = ""  # for the log; empty on success
    lasting: bool = False  # trying again cannot help: the address cannot be requested at all
    retry_after: str | None = None  # the Retry-After header of a 429 or 503

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def webhook_delivery_send(*, delivery_id: int, now: datetime | None = None) -> bool:
    """Send one delivery if it is still due and record the attempt; mark it sent on a 2xx
    answer, else schedule the retry — or, on 410 or after the last attempt, turn the endpoint
    off. Returns whether it was delivered by this call."""
    now = now or timezone.now()
    with transaction.atomic():
        # skip_locked: another worker holding this row is sending it right now.
        delivery = (
            _due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return False
        attempted_at = timezone.now()
        started = time.monotonic()
        answer = _post(delivery.webhook, delivery)
        duration_ms = round((time.monotonic() - started) * 1000)
        number = delivery.attempts + 1
        # Given up at once: an address that cannot be requested, a receiver that said Gone.
        gone = answer.status == 410
        delivery.attempts = MAX_ATTEMPTS if answer.lasting or gone else number
        delivery.response_status = answer.status
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=attempted_at,
            duration_ms=duration_ms,
            response_status=answer.status,
            error=answer.error,
        )
        if answer.ok:
            delivery.status = DeliveryStatus.SENT
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = answer.error
            wait = None
            if answer.status in RETRY_AFTER_STATUSES:
                wait = retry_after(answer.retry_after, attempted_at)
            delivery.next_attempt_at = now + (wait or retry_delay(delivery.attempts))
        delivery.save(
            update_fields=[
                "attempts",
                "response_status",
                "status",
                "delivered_at",
                "last_error",
                "next_attempt_at",
            ]
        )
        if gone:
            _disable(delivery, MSG_GONE, attempted_at)
        elif not answer.ok and delivery.attempts >= MAX_ATTEMPTS and not _delivered_since(delivery):
            _disable(delivery, MSG_EXHAUSTED.format(error=answer.error), attempted_at)
    return delivery.status == DeliveryStatus.SENT


def _delivered_since(delivery: WebhookDelivery) -> bool:
    """Whether the endpoint accepted anything since this delivery was made: then it works, and
    one event it keeps refusing does not turn it off."""
    return WebhookDelivery.objects.filter(
        webhook_id=delivery.webhook_id,
        status=DeliveryStatus.SENT,
        delivered_at__gte=delivery.created_at,
    ).exists()


def _disable(delivery: WebhookDelivery, reason: str, at: datetime) -> None:
    """Turn the delivery's endpoint off, skip what else waits for it, and leave it for
    rollout.services.webhooks to log and announce. Rows another worker is sending are left to it
    (skip_locked: two workers turning one endpoint off cannot wait for each other)."""
    webhook = delivery.webhook
    waiting = list(
        WebhookDelivery.objects.filter(
            webhook=webhook, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
        )
        .exclude(attempts__gte=MAX_ATTEMPTS)
        .exclude(pk=delivery.pk)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=waiting).update(
        status=DeliveryStatus.SKIPPED, last_error=MSG_TURNED_OFF
    )
    Webhook.objects.filter(pk=webhook.pk, active=True).update(
        active=False, disabled_at=at, disabled_reason=reason[:ERROR_MAX], disabled_unannounced=True
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: following it would turn the POST into a GET and
    could lead the request to an address nobody registered."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _private_address(url: str) -> tuple[str, str] | None:
    """(host, ip) when the URL's host resolves to an address that is not globally routable —
    loopback, private, link-local (cloud metadata), reserved — unless settings allow it (local
    development and tests). Checked at every send, not only on creation, since DNS can change.
    (A host re-resolving between this check and the connection is not covered; an egress proxy
    is the complete answer.)"""
    if getattr(settings, "ROLLOUT_WEBHOOKS_ALLOW_PRIVATE", False):
        return None
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # unresolvable: the send itself reports it
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not ip.is_global:
            return host, str(ip)
    return None


def delivery_request(webhook: Webhook, delivery: WebhookDelivery) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt. A webhook is signed afresh each time (the
    timestamp is this attempt's: receivers refuse one more than five minutes off); a delivery
    in the old format also carries the old headers; a chat channel gets its message, unsigned."""
    headers = {"Content-Type": "application/json", "User-Agent": "Rollout-Webhook/2"}
    if not webhook.signed:
        return _body(chat_message(webhook.kind, delivery.payload)), headers
    body = _body(delivery.payload)
    headers |= standard_webhooks.headers(
        secrets_in_use=webhook.secrets_in_use(timezone.now()),
        msg_id=delivery.msg_id,
        timestamp=unix_now(),
        body=body,
    )
    if delivery.legacy:
        headers[LEGACY_SIGNATURE_HEADER] = standard_webhooks.legacy_signature(webhook.secret, body)
        headers[LEGACY_EVENT_ID_HEADER] = str(delivery.activity_id)
    return body, headers


def unix_now() -> int:
    """The `webhook-timestamp` of an attempt made now."""
    return int(time.time())


def _post(webhook: Webhook, delivery: WebhookDelivery) -> Answer:
    """POST one attempt; what came of it."""
    private = _private_address(webhook.url)
    if private is not None:
        return Answer(None, MSG_PRIVATE_ADDRESS.format(host=private[0], ip=private[1]))
    body, headers = delivery_request(webhook, delivery)
    try:
        # S310: the address was validated as http(s) on creation, and the opener follows no
        # redirect.
        request = urllib.request.Request(  # noqa: S310
            webhook.url, data=body, method="POST", headers=headers
        )
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return Answer(response.status)
    except urllib.error.HTTPError as exc:
        moved = (
            " A redirect is not followed: enter the new address." if 300 <= exc.code < 400 else ""
        )
        return Answer(
            exc.code,
            f"The receiver answered HTTP {exc.code}.{moved}",
            retry_after=exc.headers.get("Retry-After") if exc.headers else None,
        )
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Answer(None, f"Could not reach the receiver: {reason}"[:ERROR_MAX])
    except (http.client.InvalidURL, ValueError) as exc:
        # The stored address cannot be requested (control characters, not a URL): every time.
        error = f"The address cannot be requested: {failure_reason(exc)}"[:ERROR_MAX]
        return Answer(None, error, lasting=True)
    except http.client.HTTPException as exc:  # not an OSError: an answer that is not HTTP
        return Answer(None, f"The receiver's answer is not HTTP: {failure_reason(exc)}"[:ERROR_MAX])
