"""Reading webhooks and chat channels and their delivery log — a workflow's, or the
organisation's (workflow None) — for the owner-facing pages."""

from django.db.models import Prefetch, QuerySet

from rollout.models import Webhook, WebhookAttempt, WebhookDelivery, Workflow

DELIVERY_LOG_SIZE = 50


def webhook_list_for_workflow(workflow: Workflow | None) -> QuerySet[Webhook]:
    """A workflow's endpoints, or (None) the organisation's."""
    return Webhook.objects.filter(workflow=workflow).select_related("created_by")


def webhook_get_for_workflow(workflow: Workflow | None, webhook_id: int) -> Webhook:
    """One endpoint of this workflow (or, None, of the organisation); Webhook.DoesNotExist for
    anyone else's."""
    webhook = Webhook.objects.get(pk=webhook_id, workflow=workflow)
    webhook.workflow = workflow
    return webhook


def webhook_delivery_log(workflow: Workflow | None) -> list[WebhookDelivery]:
    """The last DELIVERY_LOG_SIZE deliveries to the workflow's (or the organisation's)
    endpoints, newest first, with endpoint, entry (and its workflow) and every attempt: three
    queries whatever the size."""
    return list(
        WebhookDelivery.objects.filter(webhook__workflow=workflow)
        .select_related("webhook", "activity__workflow", "activity__actor")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .order_by("-created_at", "-id")[:DELIVERY_LOG_SIZE]
    )
