"""Outgoing webhooks of a workflow and their delivery outbox (PRODUCT.md "Outgoing events")."""

from django.conf import settings
from django.db import models

from rollout.models.notice import DeliveryStatus


class Webhook(models.Model):
    """An owner's URL that receives every activity-log entry of the workflow as signed JSON.
    The secret signs the body (HMAC-SHA256); it is shown once when created."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One activity entry to one webhook: retried with backoff until delivered or given up."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    activity = models.ForeignKey(
        "rollout.ActivityEntry", on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField()
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
