"""Reading a workflow's webhooks and their delivery log (the owner-facing webhooks page)."""

from django.db.models import QuerySet

from rollout.models import Webhook, WebhookDelivery, Workflow

DELIVERY_LOG_SIZE = 50


def webhook_list_for_workflow(workflow: Workflow) -> QuerySet[Webhook]:
    return Webhook.objects.filter(workflow=workflow).select_related("created_by")


def webhook_get_for_workflow(workflow: Workflow, webhook_id: int) -> Webhook:
    """One webhook of this workflow; Webhook.DoesNotExist for another workflow's."""
    webhook = Webhook.objects.get(pk=webhook_id, workflow=workflow)
    webhook.workflow = workflow
    return webhook


def webhook_delivery_log(workflow: Workflow) -> list[WebhookDelivery]:
    """The workflow's last DELIVERY_LOG_SIZE deliveries, newest first, with webhook and entry."""
    return list(
        WebhookDelivery.objects.filter(webhook__workflow=workflow)
        .select_related("webhook", "activity")
        .order_by("-created_at", "-id")[:DELIVERY_LOG_SIZE]
    )
