"""Outgoing webhooks and chat channels, their delivery outbox and each attempt's record
(PRODUCT.md "Outgoing events"; README "Webhooks")."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from rollout.lib.standard_webhooks import secret_display
from rollout.models.notice import DeliveryStatus


class WebhookKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class Webhook(models.Model):
    """An address that receives a workflow's activity as events: a signed Standard Webhooks
    endpoint, or a Slack or Teams channel (an unsigned chat message). Without a workflow it is
    the organisation's and receives every workflow's events. The secret is shown once."""

    workflow = models.ForeignKey(
        "rollout.Workflow",
        on_delete=models.CASCADE,
        related_name="webhooks",
        null=True,
        blank=True,
        help_text="Empty: organisation-wide, every workflow's events.",
    )
    kind = models.CharField(max_length=8, choices=WebhookKind.choices, default=WebhookKind.WEBHOOK)
    url = models.URLField(max_length=500)
    # `whsec_…` for endpoints made since Standard Webhooks; an old endpoint's own text (its
    # bytes are the key, rollout.lib.standard_webhooks). Empty for chat channels: not signed.
    secret = models.CharField(max_length=100, blank=True)
    # After a rotation the old secret keeps signing beside the new one until this time.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The dotted types (rollout.lib.webhook_events.EVENT_TYPES) to send; empty: every type.
    event_types = models.JSONField(default=list, blank=True)
    # Old endpoints get the pre-standard body and X-Rollout-* headers beside the standard ones
    # until the owner switches them, or until this date (90 days after the change shipped).
    legacy_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    # Set when Rollout turned it off itself (410 Gone, every attempt failed).
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    # The outbox turned it off; logging that and telling the owner is still to do.
    disabled_unannounced = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def signed(self) -> bool:
        return self.kind == WebhookKind.WEBHOOK

    @property
    def secret_shown(self) -> str:
        """The secret as standard libraries take it (`whsec_…`)."""
        return secret_display(self.secret) if self.secret else ""

    def secrets_in_use(self, now: datetime) -> list[str]:
        """The secrets to sign with now: the current one, then a rotated one in its grace."""
        current = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            return current + [self.previous_secret]
        return current

    @property
    def is_rotating(self) -> bool:
        """Whether a rotated secret still signs beside the current one (for the page)."""
        return len(self.secrets_in_use(timezone.now())) > 1

    def legacy(self, now: datetime) -> bool:
        """Whether new events still go out in the pre-standard format as well."""
        return self.legacy_until is not None and self.legacy_until > now

    @property
    def is_legacy(self) -> bool:
        """Whether it still gets the old format (for the page)."""
        return self.legacy(timezone.now())

    def accepts(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One activity entry to one webhook or channel: retried on the Standard Webhooks schedule
    until delivered, given up or its endpoint turned off. Its id is the `webhook-id`."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # The entry it tells of; empty for an event that is not an activity entry (new feedback).
    activity = models.ForeignKey(
        "rollout.ActivityEntry", on_delete=models.CASCADE, related_name="+", null=True
    )
    event_type = models.CharField(max_length=60, blank=True)
    # The body as built when the entry was recorded: the event (webhook-events), or for an
    # endpoint still in the old format the old body. Chat messages are rendered from the event.
    payload = models.JSONField()
    legacy = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "activity"], name="webhook_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} → {self.webhook_id} ({self.status})"

    @property
    def msg_id(self) -> str:
        """The `webhook-id`: this row's, the same on every retry."""
        return f"msg_{self.pk}"


class WebhookAttempt(models.Model):
    """One try of a delivery, for the delivery log: when, how long, the answer or the error."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300
