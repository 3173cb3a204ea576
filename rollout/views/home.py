from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.roles import is_executive, is_ops_leader
from rollout.models import PromotionRequest, PromotionStatus
from rollout.permissions import can_create_workflow
from rollout.selectors.workflows import workflow_list_owned, workflow_list_visible
from rollout.views._htmx import HtmxHttpRequest

# The callout is a to-do list, not a report: the rest is one click away in the filtered portfolio.
OWNERLESS_SHOWN = 10


@require_GET
@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    """My home: the workflows I own, and for ops leaders the ownerless ones waiting for an owner."""
    user = request.user
    owned = list(
        workflow_list_owned(user).order_by(F("last_activity_at").desc(nulls_last=True), "name")
    )
    context: dict[str, object] = {
        "owned": owned,
        "can_create": can_create_workflow(user),
        "sees_everything": is_ops_leader(user) or is_executive(user),
    }
    if is_ops_leader(user):
        context["pending_approvals"] = PromotionRequest.objects.filter(
            status=PromotionStatus.PENDING
        ).count()
        ownerless = workflow_list_visible(user).ownerless().order_by("name")
        shown = list(ownerless[:OWNERLESS_SHOWN])
        context["ownerless"] = shown
        context["ownerless_count"] = (
            ownerless.count() if len(shown) == OWNERLESS_SHOWN else len(shown)
        )
    return render(request, "rollout/home.html", context)
