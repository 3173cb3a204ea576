"""Outgoing webhooks and chat channels, their configuration (PRODUCT.md "Outgoing events";
README "Webhooks"): adding one for a workflow (its owner, an ops leader) or for the whole
organisation (ops leaders), choosing its event types, rotating a webhook's secret, switching an
old webhook to the standard format, turning it off and on, deleting it — each logged. Delivery is
rollout.services.webhook_outbox; this module also logs and announces the endpoints the outbox
turned off (410 Gone, every attempt failed), a floor above it.

The secret is stored as given (not hashed): signing needs it. It is shown once, on creation and
on rotation.
"""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory, User
from accounts.roles import OPS_LEADERS
from core.errors import ApplicationError
from rollout.lib.standard_webhooks import secret_generate
from rollout.lib.webhook_events import EVENT_TYPES, event_types_label
from rollout.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookKind, Workflow
from rollout.permissions import can_manage_webhooks
from rollout.services.activity import activity_record
from rollout.services.notifications import notification_send
from rollout.services.webhook_outbox import (
    MAX_ATTEMPTS,
    MSG_TURNED_OFF,
    webhook_deliveries_send_due,
)

logger = logging.getLogger(__name__)

URL_MAX_LENGTH = Webhook._meta.get_field("url").max_length
MAX_WEBHOOKS = 10
ROTATION_GRACE = timedelta(hours=24)
ROTATION_GRACE_MAX = timedelta(days=7)

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can manage its webhooks."
MSG_NOT_ALLOWED_ORG = "Only ops leaders can manage the organisation's webhooks and chat channels."
MSG_BAD_URL = "Enter a full web address starting with https:// or http://."
MSG_SLACK_URL = (
    "Enter a Slack incoming-webhook address: it starts with https://hooks.slack.com/services/ "
    "(Slack: Apps → Incoming Webhooks → Add New Webhook to Workspace)."
)
MSG_TEAMS_URL = (
    "Enter a Teams Workflows webhook address: an https:// address on logic.azure.com, "
    "powerautomate.com or webhook.office.com (Teams: the channel's Workflows → "
    '"Post to a channel when a webhook request is received").'
)
MSG_BAD_KIND = "Choose a webhook, a Slack channel or a Teams channel."
MSG_BAD_EVENT_TYPE = "Choose event types from the list."
MSG_URL_TOO_LONG = f"Keep the address to {URL_MAX_LENGTH} characters or fewer."
MSG_DUPLICATE = "This workflow already sends to this address."
MSG_DUPLICATE_ORG = "The organisation already sends to this address."
MSG_TOO_MANY = (
    f"A workflow can have at most {MAX_WEBHOOKS} webhooks and channels. Delete one first."
)
MSG_TOO_MANY_ORG = (
    f"The organisation can have at most {MAX_WEBHOOKS} webhooks and channels. Delete one first."
)
MSG_NOT_SIGNED = "A chat channel is not signed: it has no secret."
MSG_ALREADY_STANDARD = "This webhook already sends the standard format only."
MSG_OLD_SECRET_STOPPED = "The old secret stopped at once."
MSG_BAD_GRACE = "Keep the old secret valid for between 0 and 168 hours."
FORMAT_OLD = "Old body and X-Rollout headers, with the standard headers"
FORMAT_STANDARD = "Standard Webhooks"
_url_validator = URLValidator(schemes=["http", "https"])

SLACK_HOST = "hooks.slack.com"
SLACK_PATHS = ("/services/", "/workflows/", "/triggers/")
TEAMS_HOST_ENDINGS = (".logic.azure.com", ".powerautomate.com", ".webhook.office.com")
NOUNS = {
    WebhookKind.WEBHOOK: "a webhook",
    WebhookKind.SLACK: "a Slack channel",
    WebhookKind.TEAMS: "a Teams channel",
}


def _safe_label(url: str) -> str:
    """The address's scheme and host only, for the activity log that everyone who may view the
    workflow reads: many services put the key in the path or query (chat incoming webhooks)."""
    parts = urlsplit(url)
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname or ''}{rest}"


def _clean_url(url: str, kind: str) -> str:
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise ApplicationError(MSG_URL_TOO_LONG, field="url")
    try:
        _url_validator(url)
    except ValidationError:
        message = {WebhookKind.SLACK: MSG_SLACK_URL, WebhookKind.TEAMS: MSG_TEAMS_URL}
        raise ApplicationError(message.get(kind, MSG_BAD_URL), field="url") from None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if kind == WebhookKind.SLACK and not (
        parts.scheme == "https" and host == SLACK_HOST and parts.path.startswith(SLACK_PATHS)
    ):
        raise ApplicationError(MSG_SLACK_URL, field="url")
    if kind == WebhookKind.TEAMS and not (
        parts.scheme == "https" and f".{host}".endswith(TEAMS_HOST_ENDINGS)
    ):
        raise ApplicationError(MSG_TEAMS_URL, field="url")
    return url


def _clean_event_types(event_types: list[str] | tuple[str, ...]) -> list[str]:
    """The chosen types in the catalog's order; empty means every type."""
    chosen = set(event_types)
    if not chosen <= EVENT_TYPES.keys():
        raise ApplicationError(MSG_BAD_EVENT_TYPE, field="event_types")
    return [t for t in EVENT_TYPES if t in chosen]


def _check(actor: User, workflow: Workflow | None) -> None:
    if not can_manage_webhooks(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED if workflow else MSG_NOT_ALLOWED_ORG)


def _record(
    webhook: Webhook,
    actor: User | None,
    verb: str,
    *,
    changes: dict[str, list[str]] | None = None,
    note: str = "",
) -> None:
    """Log it as "<verb> a webhook" / "a Slack channel" / "an organisation-wide webhook" (the
    endings rollout.lib.webhook_events reads as webhook.changed)."""
    noun = NOUNS[WebhookKind(webhook.kind)]
    if webhook.workflow is None:
        noun = "an organisation-wide " + noun.split(" ", 1)[1]
    activity_record(
        workflow=webhook.workflow,
        actor=actor,
        verb=f"{verb} {noun}",
        target=_safe_label(webhook.url),
        changes=changes,
        note=note,
    )


def webhook_create(
    *,
    workflow: Workflow | None,
    actor: User,
    url: str,
    kind: str = WebhookKind.WEBHOOK,
    event_types: list[str] | tuple[str, ...] = (),
) -> Webhook:
    """A new active webhook (with a fresh `whsec_` secret, shown to the actor once, on this
    response) or chat channel, for a workflow or (workflow None) the whole organisation. It
    sends the standard format only."""
    _check(actor, workflow)
    if kind not in WebhookKind.values:
        raise ApplicationError(MSG_BAD_KIND, field="kind")
    url = _clean_url(url, kind)
    types = _clean_event_types(event_types)
    with transaction.atomic():
        # Locks the workflow row (or, organisation-wide, the actor's): two concurrent creations
        # of one address cannot both pass.
        if workflow is not None:
            Workflow.objects.select_for_update().filter(pk=workflow.pk).exists()
        else:
            User.objects.select_for_update().filter(pk=actor.pk).exists()
        existing = Webhook.objects.filter(workflow=workflow)
        if existing.filter(url=url).exists():
            raise ApplicationError(MSG_DUPLICATE if workflow else MSG_DUPLICATE_ORG, field="url")
        if existing.count() >= MAX_WEBHOOKS:
            raise ApplicationError(MSG_TOO_MANY if workflow else MSG_TOO_MANY_ORG)
        webhook = Webhook(
            workflow=workflow,
            kind=kind,
            url=url,
            secret=secret_generate() if kind == WebhookKind.WEBHOOK else "",
            event_types=types,
            created_by=actor,
        )
        webhook.full_clean()
        webhook.save()
        _record(webhook, actor, "added", note=f"Events: {event_types_label(types)}")
    return webhook


@transaction.atomic
def webhook_set_active(*, webhook: Webhook, actor: User, active: bool) -> Webhook:
    """Turn a webhook off (what is not yet delivered is skipped) or on again (from now on; one
    Rollout turned off starts over with a clean slate)."""
    _check(actor, webhook.workflow)
    if webhook.active == active:
        return webhook
    if not active:
        # Recorded before turning off: the receiver hears that it is being turned off.
        _record(webhook, actor, "turned off")
        WebhookDelivery.objects.filter(
            webhook=webhook, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
        ).exclude(attempts__gte=MAX_ATTEMPTS).update(
            status=DeliveryStatus.SKIPPED, last_error=MSG_TURNED_OFF
        )
    webhook.active = active
    if active:
        webhook.disabled_at = None
        webhook.disabled_reason = ""
        webhook.disabled_unannounced = False
    webhook.save(update_fields=["active", "disabled_at", "disabled_reason", "disabled_unannounced"])
    if active:
        _record(webhook, actor, "turned on")
    return webhook


@transaction.atomic
def webhook_event_types_set(*, webhook: Webhook, actor: User, event_types: list[str]) -> Webhook:
    """Choose the types it receives (none chosen: every type), from the next event on."""
    _check(actor, webhook.workflow)
    types = _clean_event_types(event_types)
    if types == webhook.event_types:
        return webhook
    before = event_types_label(webhook.event_types)
    webhook.event_types = types
    webhook.save(update_fields=["event_types"])
    _record(
        webhook,
        actor,
        "changed the events of",
        changes={"Events": [before, event_types_label(types)]},
    )
    return webhook


@transaction.atomic
def webhook_secret_rotate(
    *, webhook: Webhook, actor: User, grace: timedelta = ROTATION_GRACE
) -> Webhook:
    """A new `whsec_` secret (shown to the actor once). The current one keeps signing beside it
    for `grace` (0 to 7 days), so the receiver can switch without losing an event; a secret
    rotated out earlier and still in its grace stops at once."""
    _check(actor, webhook.workflow)
    if not webhook.signed:
        raise ApplicationError(MSG_NOT_SIGNED)
    if not timedelta(0) <= grace <= ROTATION_GRACE_MAX:
        raise ApplicationError(MSG_BAD_GRACE, field="grace_hours")
    now = timezone.now()
    webhook.previous_secret = webhook.secret if grace else ""
    webhook.previous_secret_expires_at = now + grace if grace else None
    webhook.secret = secret_generate()
    webhook.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    hours = round(grace.total_seconds() / 3600)
    note = f"The old secret stays valid for {hours} hours." if grace else MSG_OLD_SECRET_STOPPED
    _record(webhook, actor, "rotated the secret of", note=note)
    return webhook


@transaction.atomic
def webhook_switch_to_standard(*, webhook: Webhook, actor: User) -> Webhook:
    """Stop sending the old body and X-Rollout-* headers: from the next event on, the standard
    body and headers only. Events already queued keep the body they were made with."""
    _check(actor, webhook.workflow)
    if not webhook.legacy(timezone.now()):
        raise ApplicationError(MSG_ALREADY_STANDARD)
    webhook.legacy_until = None
    webhook.save(update_fields=["legacy_until"])
    _record(
        webhook, actor, "switched the format of", changes={"Format": [FORMAT_OLD, FORMAT_STANDARD]}
    )
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, actor: User) -> None:
    """Delete the webhook and its delivery log: nothing more is sent to it."""
    _check(actor, webhook.workflow)
    workflow, url, kind = webhook.workflow, webhook.url, webhook.kind
    webhook.delete()
    _record(Webhook(workflow=workflow, url=url, kind=kind), actor, "deleted")


def webhooks_send_due() -> int:
    """The sending task's one call: send what is due (rollout.services.webhook_outbox), then log
    and announce the endpoints it turned off. Returns how many deliveries went out."""
    sent = webhook_deliveries_send_due()
    webhook_disablings_announce()
    return sent


def webhook_disablings_announce() -> int:
    """For each endpoint the outbox turned off and nobody was told of yet: an activity entry
    and an in-app notification (and email, if they want updates) to the workflow's owner — for
    an organisation-wide one, the ops leader who added it, or every ops leader when they are
    gone. Once each, under a row lock. Returns how many were announced."""
    announced = 0
    pending = Webhook.objects.filter(disabled_unannounced=True).values_list("pk", flat=True)
    for pk in list(pending):
        with transaction.atomic():
            webhook = (
                Webhook.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("workflow__owner", "created_by")
                .filter(pk=pk, disabled_unannounced=True)
                .first()
            )
            if webhook is None:
                continue
            _record(webhook, None, "turned off", note=webhook.disabled_reason)
            for recipient in _owners(webhook):
                notification_send(
                    recipient=recipient,
                    workflow=webhook.workflow,
                    title=f"Rollout turned off {NOUNS[WebhookKind(webhook.kind)]}: "
                    f"{_safe_label(webhook.url)}",
                    body=f"{webhook.disabled_reason}\n\nFix the receiver, then turn it on again.",
                    url=_page(webhook),
                    email=EmailCategory.UPDATES,
                )
            webhook.disabled_unannounced = False
            webhook.save(update_fields=["disabled_unannounced"])
            announced += 1
    return announced


def _owners(webhook: Webhook) -> list[User]:
    if webhook.workflow is not None:
        return [webhook.workflow.owner]
    creator = webhook.created_by
    if creator is not None and creator.is_active and can_manage_webhooks(creator, None):
        return [creator]
    return list(User.objects.filter(groups__name=OPS_LEADERS, is_active=True).distinct())


def _page(webhook: Webhook) -> str:
    if webhook.workflow is not None:
        return reverse("workflow_webhooks", kwargs={"slug": webhook.workflow.slug})
    return reverse("org_webhooks")
