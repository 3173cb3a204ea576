"""Outgoing webhooks, their delivery: every activity-log entry of a workflow is POSTed as JSON to
each of its active webhooks, signed with HMAC-SHA256 of the exact body.

Delivery is at least once: one `WebhookDelivery` row per (webhook, entry), written in the
transaction of the change (rollout.services.activity calls `webhook_deliveries_create`); a sweep
claims due rows with SELECT … FOR UPDATE SKIP LOCKED, POSTs, then marks them. A row marked sent is
never sent again; a crash between the POST and the mark sends it again, so receivers deduplicate on
`X-Rollout-Event-Id`. Configuration (create, toggle, delete) is rollout.services.webhooks.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.mail import failure_reason
from core.wake import wake
from rollout.models import ActivityEntry, DeliveryStatus, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Rollout-Signature"
EVENT_ID_HEADER = "X-Rollout-Event-Id"
TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 8  # retried after 1, 2, 4 … 64 minutes, then given up
SWEEP_BATCH = 100
SEND_BUDGET = 180.0  # seconds of sending per run before handing over (task soft limit: 240)
MSG_TURNED_OFF = "Not sent: the webhook was turned off before it was delivered."


def webhook_signature(secret: str, body: bytes) -> str:
    """The `X-Rollout-Signature` value: `sha256=` + hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(entry: ActivityEntry) -> dict:
    """What a receiver gets for one activity entry (the JSON body, before encoding)."""
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


def _body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_deliveries_create(entry: ActivityEntry) -> int:
    """The activity hook: one pending delivery per active webhook of the entry's workflow, in the
    entry's transaction. One query when the workflow has none. Returns how many were made."""
    if entry.workflow_id is None:
        return 0
    webhook_ids = list(
        Webhook.objects.filter(workflow_id=entry.workflow_id, active=True).values_list(
            "pk", flat=True
        )
    )
    if not webhook_ids:
        return 0
    payload = webhook_payload(entry)
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(webhook_id=pk, activity=entry, payload=payload, next_attempt_at=now)
            for pk in webhook_ids
        ]
    )
    wake("rollout.tasks.send_webhooks")
    return len(webhook_ids)


def retry_delay(attempts: int) -> timedelta:
    """How long after the `attempts`-th failed attempt the next one is due: 1, 2, 4 … minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


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


def webhook_delivery_send(*, delivery_id: int, now: datetime | None = None) -> bool:
    """Send one delivery if it is still due; mark it sent on a 2xx answer, else schedule the
    retry (or give up after MAX_ATTEMPTS). Returns whether it was delivered by this call."""
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
        status, error, lasting = _post(delivery.webhook, delivery.payload, delivery.activity_id)
        delivery.attempts = MAX_ATTEMPTS if lasting else delivery.attempts + 1
        delivery.response_status = status
        if status is not None and 200 <= status < 300:
            delivery.status = DeliveryStatus.SENT
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = error
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
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
    return delivery.status == DeliveryStatus.SENT


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: following it would turn the POST into a GET and
    could lead the request to an address nobody registered."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


MSG_PRIVATE_ADDRESS = (
    "Refused: {host} resolves to a private, loopback or reserved address ({ip}). Webhooks go "
    "to public addresses only."
)


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


def _post(webhook: Webhook, payload: dict, event_id: int) -> tuple[int | None, str, bool]:
    """POST the signed body. Returns (HTTP status or None, error text for the log, whether the
    failure will not go away by trying again: an address that cannot be requested at all)."""
    private = _private_address(webhook.url)
    if private is not None:
        return None, MSG_PRIVATE_ADDRESS.format(host=private[0], ip=private[1]), False
    body = _body(payload)
    try:
        # S310: the address was validated as http(s) on creation, and the opener follows no
        # redirect.
        request = urllib.request.Request(  # noqa: S310
            webhook.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Rollout-Webhook/1",
                SIGNATURE_HEADER: webhook_signature(webhook.secret, body),
                EVENT_ID_HEADER: str(event_id),
            },
        )
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, "", False
    except urllib.error.HTTPError as exc:
        return exc.code, f"The receiver answered HTTP {exc.code}.", False
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"Could not reach the receiver: {reason}"[:1000], False
    except (http.client.InvalidURL, ValueError) as exc:
        # The stored address cannot be requested (control characters, not a URL): every time.
        return None, f"The address cannot be requested: {failure_reason(exc)}"[:1000], True
    except http.client.HTTPException as exc:  # not an OSError: an answer that is not HTTP
        return None, f"The receiver's answer is not HTTP: {failure_reason(exc)}"[:1000], False
