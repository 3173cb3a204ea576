"""Outgoing webhooks, their configuration (PRODUCT.md "Outgoing events"): adding, turning on or
off and deleting a workflow's webhooks, each logged. Delivery is rollout.services.webhook_outbox.

The secret is stored as given (not hashed): signing needs it. It is shown once, on creation.
"""

import logging
import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import DeliveryStatus, Webhook, WebhookDelivery, Workflow
from rollout.permissions import can_change_workflow
from rollout.services.activity import activity_record
from rollout.services.webhook_outbox import MAX_ATTEMPTS, MSG_TURNED_OFF

logger = logging.getLogger(__name__)

URL_MAX_LENGTH = Webhook._meta.get_field("url").max_length
MAX_WEBHOOKS = 10

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can manage its webhooks."
MSG_BAD_URL = "Enter a full web address starting with https:// or http://."
MSG_URL_TOO_LONG = f"Keep the address to {URL_MAX_LENGTH} characters or fewer."
MSG_DUPLICATE = "This workflow already sends to this address."
MSG_TOO_MANY = f"A workflow can have at most {MAX_WEBHOOKS} webhooks. Delete one first."
_url_validator = URLValidator(schemes=["http", "https"])


def _safe_label(url: str) -> str:
    """The address's scheme and host only, for the activity log that everyone who may view the
    workflow reads: many services put the key in the path or query (chat incoming webhooks)."""
    parts = urlsplit(url)
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname or ''}{rest}"


def _clean_url(url: str) -> str:
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise ApplicationError(MSG_URL_TOO_LONG, field="url")
    try:
        _url_validator(url)
    except ValidationError:
        raise ApplicationError(MSG_BAD_URL, field="url") from None
    return url


def webhook_create(*, workflow: Workflow, actor: User, url: str) -> Webhook:
    """A new active webhook with a fresh secret (shown to the actor once, on this response)."""
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    url = _clean_url(url)
    with transaction.atomic():
        # Locks the workflow row: two concurrent creations of one address cannot both pass.
        Workflow.objects.select_for_update().filter(pk=workflow.pk).exists()
        existing = Webhook.objects.filter(workflow=workflow)
        if existing.filter(url=url).exists():
            raise ApplicationError(MSG_DUPLICATE, field="url")
        if existing.count() >= MAX_WEBHOOKS:
            raise ApplicationError(MSG_TOO_MANY)
        webhook = Webhook(
            workflow=workflow, url=url, secret=secrets.token_urlsafe(32), created_by=actor
        )
        webhook.full_clean()
        webhook.save()
        activity_record(
            workflow=workflow, actor=actor, verb="added a webhook", target=_safe_label(url)
        )
    return webhook


@transaction.atomic
def webhook_set_active(*, webhook: Webhook, actor: User, active: bool) -> Webhook:
    """Turn a webhook off (what is not yet delivered is skipped) or on again (from now on)."""
    if not can_change_workflow(actor, webhook.workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    if webhook.active == active:
        return webhook
    if not active:
        # Recorded before turning off: the receiver hears that it is being turned off.
        activity_record(
            workflow=webhook.workflow,
            actor=actor,
            verb="turned off a webhook",
            target=_safe_label(webhook.url),
        )
        WebhookDelivery.objects.filter(
            webhook=webhook, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
        ).exclude(attempts__gte=MAX_ATTEMPTS).update(
            status=DeliveryStatus.SKIPPED, last_error=MSG_TURNED_OFF
        )
    webhook.active = active
    webhook.save(update_fields=["active"])
    if active:
        activity_record(
            workflow=webhook.workflow,
            actor=actor,
            verb="turned on a webhook",
            target=_safe_label(webhook.url),
        )
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, actor: User) -> None:
    """Delete the webhook and its delivery log: nothing more is sent to it."""
    if not can_change_workflow(actor, webhook.workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    label = _safe_label(webhook.url)
    workflow = webhook.workflow
    webhook.delete()
    activity_record(workflow=workflow, actor=actor, verb="deleted a webhook", target=label)
