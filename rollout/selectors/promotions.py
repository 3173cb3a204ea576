"""Reads of promotion requests. Callers have already checked the user may see the workflow
(rollout.permissions.access_workflow); the approvals queue is for ops leaders."""

from django.db.models import QuerySet

from rollout.models import OPEN_PROMOTION, PromotionRequest, PromotionStatus, Workflow


def promotion_get_open(workflow: Workflow) -> PromotionRequest | None:
    """The workflow's open (pending or approved) request with what the promotion card shows of
    it, or None. At most one is open per workflow (rollout.services.promotions)."""
    return (
        PromotionRequest.objects.filter(workflow=workflow, status__in=OPEN_PROMOTION)
        .select_related("requested_by", "overridden_by", "from_phase", "to_phase")
        .prefetch_related("approvals__approver")
        .first()
    )


def promotion_get_for_workflow(workflow: Workflow, request_id: int) -> PromotionRequest:
    """One request of this workflow; raises PromotionRequest.DoesNotExist for another's."""
    promotion = PromotionRequest.objects.get(pk=request_id, workflow=workflow)
    promotion.workflow = workflow
    return promotion


def promotion_list_open() -> QuerySet[PromotionRequest]:
    """Open requests across the portfolio, oldest first: the approvals queue."""
    return (
        PromotionRequest.objects.filter(status__in=OPEN_PROMOTION)
        .select_related("workflow", "requested_by", "from_phase", "to_phase")
        .prefetch_related("approvals__approver")
        .order_by("requested_at", "id")
    )


def promotion_count_pending() -> int:
    """How many requests wait for an approval, across the portfolio (the home page callout)."""
    return PromotionRequest.objects.filter(status=PromotionStatus.PENDING).count()
